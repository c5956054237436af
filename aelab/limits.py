"""What aelab allows: every numeric bound, every named choice and the size limits a shared server enforces.

spec, settings, the labs, the URL schemas and the checkpoint and upload checks all read a bound from here, so
changing one is one edit. Size limits that follow from another limit are derived from it (the checkpoint limit
from the largest model you can train and the history cap; the server's upload limit from the widgets' limits).
No imports of aelab modules (torch- and Streamlit-free): app.py reads it on every run.
"""
import math

# -- the network and its training ---------------------------------------------------------------------
MAX_PARAMS = 20_000_000  # above this a model is too big for a teaching laptop / shared CPU server
MAX_WIDTH = 16_384  # widest single layer we accept
MAX_LAYERS = 8  # hidden layers per side
MAX_EPOCHS = 1_000
MAX_BATCH = 65_536  # samples per optimizer step
MAX_LR = 1.0  # a larger learning rate makes training blow up (the lower bound is "above 0")
MAX_BETA = 100.0  # a larger KL weight only makes every code equal to noise
MAX_SEED = 2**31 - 1  # seeds run from 0 to this (what torch and numpy accept everywhere)
SEED_MIN, SEED_MAX = 0, MAX_SEED  # the seed range (checkpoints, links and pages are held to it)
MIN_TRAIN = 2  # fewest training images a model may train on
MIN_LAB_TRAIN = 10  # fewest training images the denoising and anomaly labs accept
MAX_COUNT = 1_000_000  # largest image count or index a box or link accepts; the page checks it against its data
MAX_N_TRAIN = MAX_COUNT  # training-set size (a data set's own size caps it further)

# -- convolutional and sparse autoencoders (shapes in aelab/conv.py) ------------------------------------
MAX_CONV_LAYERS = 4  # stride-2 conv layers per side (an 8x8 image allows 3: 8 -> 4 -> 2 -> 1)
MAX_CHANNELS = 128  # channels of one conv layer
MAX_SPARSITY = 1.0  # weight of the L1 code penalty; above it the penalty swamps the reconstruction
MAX_CODE_PER_INPUT = 4  # Build & Train's bottleneck slider reaches 4x the input: a sparse code may be wider than it

# -- Kinds side by side (aelab/kinds.py) -----------------------------------------------------------------
MIN_KIND_SECONDS = 0.5  # training seconds per kind: fewer leave a 28x28 conv model a handful of steps
MAX_KIND_SECONDS = 60.0  # ... and at most this many: five kinds then take five minutes

# -- the experiment pages ------------------------------------------------------------------------------
MAX_RUNS = 12  # bottleneck sizes per sweep: each is a whole network to train on a shared CPU
MAX_BOTTLENECK = 2_048  # widest code a sweep accepts (already far above any input width offered here)
MAX_SIZES = 6  # code sizes in the anomaly lab's comparison
MAX_COPIES = 10  # noisy copies per training image in the denoising lab
MAX_NOISE_LEVEL = 1.0  # a noise std of 1, or a corrupted fraction of 1, already destroys the image
MAX_CLASSES = 10  # classes of every image data set offered (digits 0-9, ten kinds of clothing)
MAX_PCA_K = 64  # most principal components / code numbers on the PCA page (it also keeps k <= input / 2)
MAX_SENSOR_CHANNELS = 6  # sensor channels per generated window
MAX_SENSOR_NOISE = 0.2  # std of the generated sensor noise, relative to the largest sine amplitude
SENSOR_NOISE_STEP = 0.01  # the sensor-noise slider's step
MAX_SPLIT_POINT = 200  # loose bound of a split point in a link: the page explains a point its model lacks
TSNE_MIN = 20  # fewest points t-SNE is run on (its perplexity needs a neighbourhood)
GRID_SIZES = (3, 20)  # rows (= columns) of the decoded lattice: fewest, most
GRID_REACH = (0.5, 4.0, 0.5)  # the lattice's reach in standard deviations: smallest, largest, step
INTERPOLATION_STEPS = (3, 16)  # images on an interpolation path: fewest, most
SAMPLE_ROW = 8  # sampled images per grid row: the sample count moves in whole rows
MAX_SAMPLES = 48  # most sampled images drawn at once (6 rows)
MAX_SAMPLE_SEED = 1_000_000  # the sampling seeds' number boxes run from 0 to this

# -- named choices: key -> label shown to the learner ------------------------------------------------
ACTIVATIONS = {
    "relu": "ReLU",
    "leaky_relu": "LeakyReLU",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "gelu": "GELU",
    "identity": "None (linear)",
}
OUTPUTS = {"sigmoid": "Sigmoid (outputs in [0, 1])", "none": "None (any real value)"}
LOSSES = {"mse": "MSE (mean squared error)", "bce": "BCE (binary cross-entropy)", "l1": "L1 (mean absolute error)"}
OPTIMIZERS = {"adam": "Adam", "sgd": "SGD (momentum 0.9)"}
KINDS = {"ae": "Autoencoder", "vae": "Variational autoencoder (VAE)"}
COMPARED_KINDS = {  # the kinds Kinds side by side trains, in its order
    "dense": "Dense AE",
    "conv": "Convolutional AE",
    "sparse": "Sparse AE (wide code + L1)",
    "wide": "Wide code, no penalty",
    "vae": "VAE",
}
BUDGETS = {"seconds": "Same seconds for each", "epochs": "Same epochs for each"}  # Kinds side by side's budgets
LAYOUTS = {"dense": "Dense (every layer nn.Linear)", "conv": "Convolutional (stride-2 convs, then a dense code)"}
CONTINUATIONS = {"step": "one batch", "epoch": "to the end of the epoch", "more": "more epochs",
                 "play": "until paused"}  # how far Build & Train trains the current model further (runs.continue_run)
SPEEDS = {"full": "Full speed", "fast": "20 steps/s", "slow": "4 steps/s", "slowest": "1 step/s"}  # a run to watch
STEPS_PER_S = {"full": 0.0, "fast": 20.0, "slow": 4.0, "slowest": 1.0}  # each speed's steps per second (0 = no limit)
NOISE_KINDS = {
    "gaussian": "Gaussian (add random noise, then clip to [0, 1])",
    "salt_pepper": "Salt and pepper (random pixels turn black or white)",
    "mask": "Masking (random pixels are set to 0)",
}
SIGNAL_SCORES = {"mean": "Mean squared error over the window", "max": "Largest squared error at any time step"}
SAMPLERS = {"fitted": "a Gaussian fitted to the training codes", "prior": "the prior N(0, I)"}


# -- sizes a shared server accepts (uploads, checkpoint files, loss histories) ------------------------------
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
