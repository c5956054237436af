# aelab in a container: the CPU image (PyTorch's CPU wheels), a non-root user and a health check.
#   docker build -t aelab:cpu .          docker run -p 8501:8501 aelab:cpu
# GPU variant (README, "A class of 300"): --build-arg TORCH_INDEX=https://pypi.org/simple (PyPI's Linux wheels
# bundle CUDA) or a CUDA index such as https://download.pytorch.org/whl/cu128, then run with --gpus all.
FROM python:3.11-slim

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OMP_WAIT_POLICY=PASSIVE AELAB_DATA_DIR=/data

WORKDIR /app
COPY requirements.txt .
# torch and torchvision first, as the pair requirements.txt pins, from TORCH_INDEX (the CPU wheels are ~0.2 GB
# instead of ~5 GB); their local versions (2.14.1+cpu) then satisfy requirements.txt's pins (torch==2.14.1).
RUN pip install --index-url "$TORCH_INDEX" $(grep -E '^(torch|torchvision)==' requirements.txt) \
    && pip install -r requirements.txt

RUN useradd --create-home --uid 10001 aelab && mkdir -p /data && chown aelab:aelab /data
# the code stays owned by root: the app can read it, not change it
COPY . .
USER aelab

EXPOSE 8501
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read() != b'ok')"
CMD ["python", "-m", "streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501", \
     "--server.headless=true", "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"]
