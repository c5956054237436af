"""Size limits that must agree with one another: uploads, checkpoint files, loss histories (one definition each).

Everything a shared server accepts is bounded here, and derived where one limit follows from another: the
checkpoint limit from the largest model the lab lets you train (spec.MAX_PARAMS) and the history cap, the
server's upload limit from the widgets' limits. Torch- and Streamlit-free, so app.py can read it on every run.
"""
from __future__ import annotations

import math

from aelab.spec import MAX_BATCH, MAX_EPOCHS, MAX_N_TRAIN, MAX_PARAMS, SEED_MAX, SEED_MIN

# A "MB" as st.file_uploader's max_upload_size counts it in the browser (Linux and macOS: 10**6 bytes; Windows
# browsers count 2**20). Streamlit's server counts server.maxUploadSize in 2**20-byte units, a little more, so
# aelab's own checks below (in bytes) are the ones that bite, and they agree with what the browser allows.
MB = 1_000_000

# -- loss histories -------------------------------------------------------------------------------------
POINTS_PER_EPOCH = 20  # train.fit logs about this many training-loss points per epoch (never 2x as many)
MAX_HISTORY_POINTS = 2 * POINTS_PER_EPOCH * MAX_EPOCHS  # 40,000: the longest training curve a run can log
MAX_TEST_POINTS = MAX_EPOCHS + 1  # one held-out loss before training and one per epoch
MAX_MESSAGE = 500  # characters of a run's closing message (aelab's own are under 300)
MAX_SECONDS = 30 * 24 * 3600  # a run's wall time, pauses included: 30 days

# -- checkpoint files ------------------------------------------------------------------------------------
BYTES_PER_PARAM = 4  # float32 weights
# The pickled part of a checkpoint (architecture, settings, history, message): a full 40,000-point VAE history
# with its two loss terms measures 1.48 MB (tests/test_limits.py measures it again against this bound).
MAX_META_BYTES = 2 * MB
ARCHIVE_OVERHEAD = 64 * 1024  # zip headers, descriptors and 64-byte alignment of at most 42 members (measured ~11 KB)
CHECKPOINT_MB = math.ceil((BYTES_PER_PARAM * MAX_PARAMS + MAX_META_BYTES + ARCHIVE_OVERHEAD) / MB)  # 83
CHECKPOINT_BYTES = CHECKPOINT_MB * MB  # 83,000,000: every model the lab lets you train exports below this

# -- uploads ------------------------------------------------------------------------------------------------
CSV_MB = 5  # a CSV table on Not only images (20,000 rows x 500 columns of short numbers fit)
CSV_BYTES = CSV_MB * MB
UPLOAD_MB = {"checkpoint": CHECKPOINT_MB, "csv": CSV_MB}  # every st.file_uploader in the app: its limit in MB
SERVER_MAX_UPLOAD_MB = max(UPLOAD_MB.values())  # .streamlit/config.toml server.maxUploadSize (a test compares)
MAX_FILE_BYTES = SERVER_MAX_UPLOAD_MB * MB  # the largest single file the server keeps
# Bytes one browser session may hold on the server: a file in every uploader at once, plus one replacement
# still arriving while the file it replaces is not yet released.
SESSION_UPLOAD_BYTES = (sum(UPLOAD_MB.values()) + max(UPLOAD_MB.values())) * MB  # 171 MB


def upload_refusal(size: int, held_by_session: int, held_total: int, max_total: int) -> str | None:
    """Why the server must refuse a file of `size` bytes, or None to keep it.

    `held_by_session` / `held_total`: bytes already kept for this session / for all sessions (not counting a
    file this one replaces); `max_total`: the server-wide bound (config "upload_total_mb", in bytes).
    """
    if size > MAX_FILE_BYTES:
        return (f"The file is {size / MB:.1f} MB; aelab accepts files of at most {SERVER_MAX_UPLOAD_MB} MB "
                f"(checkpoints {CHECKPOINT_MB} MB, CSV tables {CSV_MB} MB).")
    if held_by_session + size > SESSION_UPLOAD_BYTES:
        return (f"This browser session already holds {held_by_session / MB:.1f} MB of uploaded files; with this "
                f"file it would exceed {SESSION_UPLOAD_BYTES // MB} MB. Remove a file from an uploader (its x) "
                "or reload the page, then upload again.")
    if held_total + size > max_total:
        return (f"The server holds {held_total / MB:.0f} MB of uploaded files from all users, its limit is "
                f"{max_total / MB:.0f} MB: try again in a few minutes.")
    return None


def table() -> str:
    """The limits as a Markdown table (limit, value, where it is defined) for the README."""
    from aelab import config

    rows = [
        ("largest model you can train", f"{MAX_PARAMS:,} parameters", "aelab/spec.py MAX_PARAMS"),
        ("training settings (pages, links, checkpoints)", f"seed {SEED_MIN} to {SEED_MAX:,}, batch size up to "
         f"{MAX_BATCH:,}, epochs up to {MAX_EPOCHS:,}, training samples up to {MAX_N_TRAIN:,}", "aelab/spec.py check_train"),
        ("checkpoint file (upload widget, server and import check)", f"{CHECKPOINT_MB} MB = {CHECKPOINT_BYTES:,} bytes",
         "aelab/limits.py CHECKPOINT_MB (derived from MAX_PARAMS)"),
        ("CSV table (upload widget and reader)", f"{CSV_MB} MB", "aelab/limits.py CSV_MB"),
        ("any single uploaded file, in the server", f"{SERVER_MAX_UPLOAD_MB} MB",
         "aelab/limits.py SERVER_MAX_UPLOAD_MB = .streamlit/config.toml server.maxUploadSize"),
        ("uploaded files one browser session holds", f"{SESSION_UPLOAD_BYTES // MB} MB",
         "aelab/limits.py SESSION_UPLOAD_BYTES"),
        ("uploaded files all sessions hold", f"{config.SETTINGS['upload_total_mb'].shown} MB",
         "AELAB_UPLOAD_TOTAL_MB (aelab/config.py)"),
        ("loss-history points in a checkpoint", f"{MAX_HISTORY_POINTS:,} (training) / {MAX_TEST_POINTS:,} (test)",
         "aelab/limits.py MAX_HISTORY_POINTS"),
        ("pickled part of a checkpoint", f"{MAX_META_BYTES // MB} MB", "aelab/limits.py MAX_META_BYTES"),
        ("a run's message", f"{MAX_MESSAGE} characters", "aelab/limits.py MAX_MESSAGE"),
    ]
    lines = ["| limit | value | defined in |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)
