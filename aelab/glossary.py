"""The glossary: one plain definition per term the pages use (definitions are the one place for fixed prose).

Pages show the terms of a section next to it (ui.terms: a "Terms" popover), widgets take `tip(key)` as help=, and the
Lessons page lists them all. No torch, no numpy: any page may import it.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    name: str  # as the pages write it
    text: str  # the definition, in words a beginner knows


TERMS: dict[str, Term] = {k: Term(*v) for k, v in {
    "autoencoder": ("autoencoder", "A network trained to output its own input, through a narrow middle layer."),
    "encoder": ("encoder", "The layers from the input to the code: they compress."),
    "decoder": ("decoder", "The layers from the code to the output: they rebuild the input from the code alone."),
    "code": ("code (bottleneck, latent)", "The few numbers the narrowest layer outputs for one input: the network's "
                                          "summary of it. The code size is the bottleneck's width."),
    "reconstruction_error": ("reconstruction error", "How far the output is from the input. aelab measures it as the "
                                                     "mean squared difference per pixel (or per feature)."),
    "mse": ("MSE", "Mean squared error: the average over all pixels of (output − input)². Pixels are in [0, 1], so a "
                   "perfect copy scores 0."),
    "bce": ("BCE", "Binary cross-entropy: treats each pixel as the probability of being 'on'. A perfect copy scores 0 "
                   "only on black-and-white pixels; grey pixels leave a floor above 0 that no model can go below."),
    "l1": ("L1 (mean absolute error)", "The average over all pixels of |output − input|: a few badly rebuilt pixels "
                                      "count for less than under MSE."),
    "held_out": ("held-out set", "Images kept apart from training (also 'test images'). The error on them shows how "
                                 "well the network does on inputs it never learned from."),
    "memorization": ("memorization", "Fitting the training images much better than new ones: the training error falls "
                                     "far below the held-out error."),
    "epoch": ("epoch", "One pass over every training image."),
    "learning_rate": ("learning rate", "How large a step the optimizer takes on each update. Too large and the loss "
                                       "jumps around or blows up; too small and it barely moves."),
    "batch_size": ("batch size", "Images averaged into one update. Smaller batches mean more, noisier updates per "
                                 "epoch."),
    "early_stopping": ("early stopping", "Keeping the weights of the epoch with the lowest held-out error instead of "
                                         "the last epoch's."),
    "activation": ("activation function", "The bend applied after each layer (ReLU, Tanh, Sigmoid, ...). Without "
                                          "one, a stack of layers is a single linear map."),
    "knn": ("kNN (k nearest neighbours)", "A classifier with nothing to train: it names an image's class by a vote "
                                          "among the k most similar known images (here k = 5, similar = close codes)."),
    "linear_probe": ("linear probe", "A linear classifier fitted on a layer's activations: how well classes can be "
                                     "told apart from that layer with one straight cut per class."),
    "probe": ("probe", "A small classifier fitted after training, only to measure what a layer or a code holds. The "
                       "autoencoder itself never sees the labels."),
    "pca": ("PCA (principal component analysis)", "Finds the directions along which the data varies most and keeps "
                                                  "only the coordinates along the top k of them."),
    "principal_angles": ("principal angles", "Angles that say how far two flat subspaces are apart: all 0° means they "
                                             "are the same subspace, 90° means at right angles."),
    "tsne": ("t-SNE", "A picture-making method that places points in 2-D or 3-D so that close neighbours stay close. "
                      "Distances between far-apart groups in the picture mean little."),
    "roc": ("ROC curve", "For every threshold, the share of anomalies caught (y) against the share of normal inputs "
                         "wrongly flagged (x)."),
    "auc": ("AUC (area under the ROC curve)", "The chance that a random anomaly scores higher than a random normal "
                                              "input: 0.5 is guessing, 1.0 is perfect."),
    "threshold": ("threshold", "The error above which an input is flagged as unusual."),
    "precision_recall": ("precision and recall", "Precision: the share of flagged inputs that really are anomalies. "
                                                 "Recall: the share of anomalies that get flagged."),
    "vae": ("VAE (variational autoencoder)", "An autoencoder whose encoder outputs a mean and a spread per code number; "
                                             "a random code is drawn from them, and a KL term pulls the codes toward "
                                             "N(0, 1)."),
    "kl": ("KL divergence", "A measure of how far one distribution is from another. In a VAE: how far each input's "
                            "code distribution is from N(0, 1); 0 means the code says nothing about the input."),
    "beta": ("β (beta)", "The weight of the KL term in a VAE's loss. Large β pulls codes harder toward N(0, 1); too "
                         "large and the VAE ignores its input."),
    "log_variance": ("log-variance", "What a VAE's encoder outputs for the spread of each code number: log σ². Its "
                                     "exponent is the variance, so any real number is allowed."),
    "active_units": ("active units", "Code numbers whose mean code varies across inputs (variance above 0.01). An "
                                     "inactive unit gives every input the same value: it carries no information."),
    "posterior_collapse": ("posterior collapse", "A VAE whose codes no longer depend on the input: every image gets "
                                                 "about N(0, 1), and the output is about the average image."),
    "prior": ("prior N(0, I)", "The standard normal distribution a VAE's codes are pulled toward, and where its random "
                               "codes are drawn from."),
    "holes": ("holes (in the code space)", "Regions between the codes of real images. The decoder never learned what "
                                           "to draw there."),
    "dims95": ("dimensions for 95% variance", "How many principal directions of a layer's activations are needed to "
                                              "hold 95% of their variance."),
    "denoising": ("denoising autoencoder", "An autoencoder trained with a corrupted input and the clean original as "
                                           "its target."),
}.items()}


def term(key: str) -> Term:
    """The term under this key (KeyError for an unknown one: a page must only name defined terms)."""
    return TERMS[key]


def line(key: str) -> str:
    """One definition as a Markdown line: **name**: text."""
    t = TERMS[key]
    return f"**{t.name}**: {t.text}"


def tip(*keys: str) -> str:
    """Definitions for a widget's help= text (one paragraph per term)."""
    return "\n\n".join(line(k) for k in keys)


def markdown(keys=None) -> str:
    """A bullet list of definitions (all terms, sorted by name, when keys is None)."""
    keys = sorted(TERMS, key=lambda k: TERMS[k].name.lower()) if keys is None else keys
    return "\n".join(f"- {line(k)}" for k in keys)
