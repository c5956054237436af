"""The data sets aelab knows, by key, label and image size: plain constants, so light modules (share, the home
page) can name them without importing torch or scikit-learn (aelab.data re-exports them)."""

DIGITS = "digits"
MNIST = "mnist"
FASHION = "fashion"
DATASETS = {  # key -> label shown to the learner
    DIGITS: "Digits (built in, 8x8, offline)",
    MNIST: "MNIST (28x28 handwritten digits)",
    FASHION: "Fashion-MNIST (28x28 clothing)",
}
INPUT_DIMS = {DIGITS: 8 * 8, MNIST: 28 * 28, FASHION: 28 * 28}  # key -> values per image (tests check data.load)
SIZES = {DIGITS: (1438, 359), MNIST: (60_000, 10_000), FASHION: (60_000, 10_000)}  # key -> (training, held-out)
# images, as data.load splits them: Build & Train lays out its settings before the data set is loaded
