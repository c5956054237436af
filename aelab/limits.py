"""What aelab allows: every numeric bound and every named choice, as bare constants (no imports).

spec, settings, the labs and the URL schemas all read a bound from here, so changing one is one edit.
"""

# -- the network and its training ---------------------------------------------------------------------
MAX_PARAMS = 20_000_000  # above this a model is too big for a teaching laptop / shared CPU server
MAX_WIDTH = 16_384  # widest single layer we accept
MAX_LAYERS = 8  # hidden layers per side
MAX_EPOCHS = 1_000
MAX_BATCH = 65_536  # samples per optimizer step
MAX_LR = 1.0  # a larger learning rate makes training blow up (the lower bound is "above 0")
MAX_BETA = 100.0  # a larger KL weight only makes every code equal to noise
MAX_SEED = 2**31 - 1  # seeds run from 0 to this (what torch and numpy accept everywhere)
MIN_TRAIN = 2  # fewest training images a model may train on
MIN_LAB_TRAIN = 10  # fewest training images the denoising and anomaly labs accept
MAX_COUNT = 1_000_000  # largest image count or index a box or link accepts; the page checks it against its data

# -- the experiment pages ------------------------------------------------------------------------------
MAX_RUNS = 12  # bottleneck sizes per sweep: each is a whole network to train on a shared CPU
MAX_BOTTLENECK = 2_048  # widest code a sweep accepts (already far above any input width offered here)
MAX_SIZES = 6  # code sizes in the anomaly lab's comparison
MAX_COPIES = 10  # noisy copies per training image in the denoising lab
MAX_NOISE_LEVEL = 1.0  # a noise std of 1, or a corrupted fraction of 1, already destroys the image
MAX_CLASSES = 10  # classes of every image data set offered (digits 0-9, ten kinds of clothing)
MAX_PCA_K = 64  # most principal components / code numbers on the PCA page (it also keeps k <= input / 2)
MAX_CHANNELS = 6  # sensor channels per generated window
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
NOISE_KINDS = {
    "gaussian": "Gaussian (add random noise, then clip to [0, 1])",
    "salt_pepper": "Salt and pepper (random pixels turn black or white)",
    "mask": "Masking (random pixels are set to 0)",
}
SIGNAL_SCORES = {"mean": "Mean squared error over the window", "max": "Largest squared error at any time step"}
SAMPLERS = {"fitted": "a Gaussian fitted to the training codes", "prior": "the prior N(0, I)"}
