"""Every setting a page offers, declared once: URL name, value kind, default (per data set where it differs),
bounds from aelab/limits.py, widget, label, help text and the dataclass argument it fills.

The widgets (ui.field), the URL schemas (share), the presets, the dataclass defaults (spec, the labs) and the labs'
checks derive from these declarations (see CONTRIBUTING.md). Torch-free, like aelab/fields.py that reads them.
"""
from __future__ import annotations

from aelab import catalog
from aelab.fields import Field, Form
from aelab.limits import (ACTIVATIONS, BUDGETS, COMPARED_KINDS, GRID_REACH, GRID_SIZES, INTERPOLATION_STEPS, KINDS,
                          LAYOUTS, LOSSES, MAX_BATCH, MAX_BETA, MAX_BOTTLENECK, MAX_CHANNELS, MAX_CLASSES,
                          MAX_CODE_PER_INPUT, MAX_CONV_LAYERS, MAX_COPIES, MAX_COUNT, MAX_EPOCHS, MAX_KIND_SECONDS,
                          MAX_LR, MAX_NOISE_LEVEL, MAX_PCA_K, MAX_RUNS, MAX_SAMPLES, MAX_SAMPLE_SEED, MAX_SEED,
                          MAX_SENSOR_CHANNELS, MAX_SENSOR_NOISE, MAX_SIZES, MAX_SPARSITY, MAX_SPLIT_POINT, MAX_WIDTH,
                          MIN_KIND_SECONDS, MIN_LAB_TRAIN, MIN_TRAIN, NOISE_KINDS, OPTIMIZERS, OUTPUTS, SAMPLERS,
                          SAMPLE_ROW, SENSOR_NOISE_STEP, SIGNAL_SCORES, SPEEDS, TSNE_MIN)


DATASET_HELP = ("Digits is built in (8x8 pixels, 1,797 images). MNIST and Fashion-MNIST are 28x28 and are read from "
                "the data folder.")


def dataset_field(param: str) -> Field:
    """A page's data set picker (drawn by ui.dataset_picker, which also offers a download)."""
    return Field(param, "choice", catalog.DIGITS, "data set", choices=tuple(catalog.DATASETS), labels=catalog.DATASETS,
                 arg="dataset", help=DATASET_HELP)


def sweep_sizes(input_dim: int) -> tuple[int, ...]:
    """Powers of two from 2 to 128, plus the input width when that is larger (a code that could copy)."""
    base = (2, 4, 8, 16, 32, 64, 128)
    return base if input_dim <= base[-1] else (*base, input_dim)


# -- shared pieces ------------------------------------------------------------------------------------------
def _lr(param: str, default: float, label: str = "Learning rate", name: str = "learning rate", widget: str = "text",
        **kw) -> Field:
    return Field(param, "float", default, name, low=0.0, above=True, high=MAX_LR, widget=widget,
                 label=label, arg="lr", hint="0.001 is typical for Adam, 0.1 for SGD; a larger rate makes training "
                                             "blow up.", **kw)


def _epochs(param: str, default: int, help: str, name: str = "epochs", widget: str = "text", **kw) -> Field:
    return Field(param, "int", default, name, low=1, high=MAX_EPOCHS, widget=widget, label="Epochs", arg="epochs",
                 help=help, **kw)


def _seed(param: str, help: str = "Same seed and same settings give the same starting weights, the same batches "
                                  "and the same curves.", **kw) -> Field:
    return Field(param, "int", 0, "seed", low=0, high=MAX_SEED, widget="text", arg="seed", help=help, **kw)


def _widths(param: str, default: tuple, name: str, help: str, item: str = "hidden width", label: str = "",
            **kw) -> Field:
    return Field(param, "ints", default, name, low=1, high=MAX_WIDTH, widget="text", item=item, label=label,
                 items="hidden layers per side", help=help, **kw)


def _code(param: str, default: int, help: str, label: str = "Code size", name: str = "", arg: str = "bottleneck",
          **kw) -> Field:
    return Field(param, "int", default, name or label.lower(), low=1, high=MAX_WIDTH, widget="text", label=label,
                 arg=arg, help=help, **kw)


def _layout(param: str, **kw) -> Field:
    """Dense or convolutional autoencoder (ArchSpec.layout)."""
    return Field(param, "choice", "dense", "layout", choices=tuple(LAYOUTS), labels=LAYOUTS, widget="radio",
                 arg="layout", help="Dense: every layer is nn.Linear and sees the image as a list of numbers. "
                                    "Convolutional: stride-2 convolutions slide small 3x3 filters over the image, "
                                    "each halving its side, before the hidden layers and the code; the decoder "
                                    "mirrors them with transposed convolutions.", **kw)


def _channels(param: str, default: tuple = (16, 32), **kw) -> Field:
    """Channels of each stride-2 conv, image side first (ArchSpec.channels)."""
    return Field(param, "ints", default, "conv channels", low=1, high=MAX_CHANNELS, max_items=MAX_CONV_LAYERS,
                 min_items=1, widget="text", item="conv channel count", items="convolutional layers", arg="channels",
                 help="One stride-2 convolution per number, image side first, e.g. 16, 32: more channels learn "
                      "more kinds of strokes and take longer (8x8 images allow 3 layers, 28x28 allow 4).", **kw)


HIDDEN_HELP = "Encoder hidden layers, e.g. 128 or 128, 64; the decoder mirrors them."
N_TRAIN_CHOICES = ("all", 100, 200, 500, 1000, 2000, 5000, 10000, 20000)

# -- the forms, one per page ----------------------------------------------------------------------------------
APP = Form({  # app-wide, synced by app.py before any page runs
    "cfg_classroom": Field("classroom", "bool", False, "classroom mode", omit_default=True,
                           label="🎓 Classroom mode", help="For a projector: larger figures and fewer advanced controls."),
})

# Build & Train's defaults per data set: a sandglass (every encoder width below the one before, issue 12) that
# reconstructs every class recognisably and keeps the live view moving for about 10-20 s (issue 16). Measured with
# benchmarks/default_run.py on the 2-core machine: Digits 300 epochs ended in 4.35 s at test MSE 0.0132, so the
# default is 600 epochs (about 10 s alone on a server); MNIST 4 epochs: 8.4 s, test MSE 0.0137.
_BT = {  # key -> (Digits, MNIST, Fashion-MNIST)
    "enc": ((48, 24), (256, 64), (256, 64)),
    "code": (8, 16, 16),
    "epochs": (600, 4, 4),
    "batch": (32, 64, 64),
}


def _per_dataset(name: str) -> tuple:
    """(the Digits default, by_dataset for the 28x28 sets) of one Build & Train setting."""
    digits, mnist, fashion = _BT[name]
    return digits, {catalog.MNIST: mnist, catalog.FASHION: fashion}


def code_choices(input_dim: int, current: int | None = None) -> list[int]:
    """The bottleneck slider's stops: every size to 8, then steps of about a quarter up to MAX_CODE_PER_INPUT times
    the input (a sparse code may be wider than the input); `current` is kept among them (a link's 17)."""
    top = min(MAX_CODE_PER_INPUT * input_dim, MAX_WIDTH)
    sizes, k = [], 1
    while k <= top:
        sizes.append(k)
        k = k + 1 if k < 8 else k + 2 ** max(1, k.bit_length() - 3)  # 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, ...
    sizes += [input_dim] if input_dim <= top and input_dim not in sizes else []
    if current is not None and isinstance(current, int) and 1 <= current <= MAX_WIDTH:
        sizes.append(current)
    return sorted(set(sizes))


BUILD_TRAIN = Form({  # pages/build_train.py: ArchSpec (architecture) and TrainConfig (training) arguments
    "cfg_dataset": dataset_field("data"),
    "cfg_kind": Field("model", "choice", "ae", "model type", choices=tuple(KINDS), labels=KINDS, widget="radio",
                      arg="kind", help="A VAE's encoder outputs a mean and a log-variance per code number and is "
                                       "trained to keep its codes close to a standard normal distribution (see the "
                                       "Latent space page)."),
    "cfg_layout": _layout("layout", omit_default=True),
    "cfg_channels": _channels("ch", label="Channels per conv layer", omit_default=True),
    "cfg_enc": Field("enc", "ints", _per_dataset("enc")[0], "encoder", low=1, high=MAX_WIDTH, widget="layers",
                     item="encoder layer", items="hidden layers per side", arg="encoder",
                     by_dataset=_per_dataset("enc")[1],
                     help="The encoder's hidden layers, from the input towards the code: how many units each has. "
                          "Each one narrower than the one before makes the sandglass; wider and more layers can "
                          "learn more, and take longer."),
    "cfg_bottleneck": Field("code", "int", _per_dataset("code")[0], "bottleneck size", low=1, high=MAX_WIDTH,
                            widget="select_slider", label="Bottleneck (code size)", arg="bottleneck",
                            by_dataset=_per_dataset("code")[1],
                            help="How many numbers the encoder may use to describe each input. Fewer numbers force "
                                 "more compression; 2 or 3 can be plotted directly. With a sparsity penalty the code "
                                 "may even be wider than the input."),
    "cfg_asym": Field("asym", "bool", False, "asymmetric decoder", label="Asymmetric decoder (its own widths)",
                      help="Off: the decoder mirrors the encoder. On: choose the decoder's widths yourself."),
    "cfg_dec": Field("dec", "ints", tuple(reversed(_per_dataset("enc")[0])), "decoder", low=1, high=MAX_WIDTH,
                     widget="layers", item="decoder layer", items="hidden layers per side", arg="decoder",
                     by_dataset={k: tuple(reversed(v)) for k, v in _per_dataset("enc")[1].items()},
                     help="The decoder's hidden layers, from the code outwards."),
    "cfg_activation": Field("act", "choice", "relu", "activation", choices=tuple(ACTIVATIONS), labels=ACTIVATIONS,
                            arg="activation", help="The nonlinearity after every hidden layer. Without one "
                                                   "(None) the whole network is linear and can do no better than PCA."),
    "cfg_code_act": Field("code_act", "choice", "identity", "code activation", choices=tuple(ACTIVATIONS),
                          labels=ACTIVATIONS, arg="code_activation", omit_default=True,
                          help="An activation on the code itself (plain autoencoder). None keeps the code free; "
                               "ReLU lets a sparse code switch units off exactly (0)."),
    "cfg_output": Field("out", "choice", "sigmoid", "output activation", choices=tuple(OUTPUTS), labels=OUTPUTS,
                        arg="output", help="Sigmoid keeps reconstructions in [0, 1] like the pixels."),
    "cfg_loss": Field("loss", "choice", "mse", "loss", choices=tuple(LOSSES), labels=LOSSES, arg="loss",
                      help="How a reconstruction's error is measured. MSE punishes large errors most; BCE treats "
                           "pixels as probabilities (needs the Sigmoid output); L1 is gentler on outliers."),
    "cfg_optimizer": Field("opt", "choice", "adam", "optimizer", choices=tuple(OPTIMIZERS), labels=OPTIMIZERS,
                           arg="optimizer", help="How the weights are updated from the gradients. Adam adapts its "
                                                 "step per weight and works with little tuning; SGD needs a larger "
                                                 "learning rate."),
    # Digits trains best at 0.002 (test MSE 0.0123-0.0132 against 0.0143-0.0150 at 0.001, 300 epochs); the plain
    # default stays 0.001, which the labs' and lessons' TrainConfig keep
    "cfg_lr": _lr("lr", 0.001, widget="log_slider", by_dataset={catalog.DIGITS: 0.002},
                  help="How large a step the optimizer takes. Too small: slow learning; too large: the loss jumps "
                       "around or blows up. 0.001 to 0.003 suit Adam. Change it between steps: Play, one step and "
                       "one epoch continue with the rate you set."),
    "cfg_batch": Field("batch", "int", _per_dataset("batch")[0], "batch size", low=1, high=MAX_BATCH, widget="number",
                       arg="batch_size", by_dataset=_per_dataset("batch")[1],
                       help="Images per weight update. Smaller batches update more often (noisier steps); larger "
                            "ones are smoother and faster per epoch."),
    "cfg_epochs": _epochs("epochs", _per_dataset("epochs")[0], "Full passes over the training set. More epochs lower "
                                                             "the training loss; watch whether the test loss follows.",
                          widget="number", by_dataset=_per_dataset("epochs")[1]),
    "cfg_seed": _seed("seed"),
    "cfg_beta": Field("beta", "float", 0.1, "beta", low=0.0, high=MAX_BETA, widget="text",
                      label="β (weight of the KL term)", arg="beta",
                      hint="with a larger β the KL term swamps the reconstruction and every code becomes noise. "
                           "Try 0.1 to 4.",
                      help="VAE only: how strongly the codes are pulled towards a standard normal distribution. "
                           "Small β: sharp reconstructions; large β: an orderly code space but blurry images."),
    "cfg_sparsity": Field("sparse", "float", 0.0, "sparsity weight", low=0.0, high=MAX_SPARSITY, widget="log_slider",
                          label="Sparsity (L1 on the code)", arg="sparsity", omit_default=True,
                          hint="a larger weight pushes every code number to 0 and every reconstruction becomes the "
                               "same average image. Try 0.001 to 0.1.",
                          help="Plain autoencoder only: adds this weight times the mean absolute code value to the "
                               "loss, so the network keeps few code numbers active. 0 switches it off."),
    "cfg_n_train": Field("n", "choice", "all", "training-set size", choices=N_TRAIN_CHOICES, widget="select_slider",
                         arg="n_train", none_as="all",
                         help="Small training sets make memorization visible: the train loss keeps falling while "
                              "the test loss stalls."),
    "cfg_latent_dims": Field("view", "choice", "2D", "code projection", choices=("2D", "3D"), widget="radio",
                             label="Projection of the code",
                             help="A code of more than 3 numbers cannot be drawn as it is: PCA shows its two or three "
                                  "main directions."),
    "cfg_overlay": Field("", "bool", True, "overlay", label="Compare with my last runs",
                         help="Draw the held-out loss of your last three models behind the current curves (grey), "
                              "each labelled with the settings it had that differ from the current ones."),
    "cfg_speed": Field("", "choice", "full", "speed", choices=tuple(SPEEDS), labels=SPEEDS, widget="select",
                       label="Speed",
                       help="Slow training down to watch every step: the weights, codes and curves move step by step. "
                            "It applies to the next Train, Play or step."),
})

BOTTLENECK = Form({  # pages/bigger_bottleneck.py: sweep.SweepConfig
    "cfg_bn_dataset": dataset_field("bn_data"),
    "cfg_bn_sizes": Field("bn_sizes", "ints", sweep_sizes(catalog.INPUT_DIMS[catalog.DIGITS]), "bottleneck sizes",
                          low=1, high=MAX_BOTTLENECK, max_items=MAX_RUNS, min_items=1, unique=True, sort=True,
                          widget="text", item="bottleneck size", items="sizes per experiment", arg="sizes",
                          by_dataset={k: sweep_sizes(d) for k, d in catalog.INPUT_DIMS.items()},
                          hint="every size is a whole network to train, and the experiment should finish while you "
                               "watch. Drop some sizes, e.g. keep every other one.",
                          help=f"Comma-separated code sizes, one model each (at most {MAX_RUNS})."),
    "cfg_bn_n_train": Field("bn_n", "int", 500, "training-set size", low=MIN_TRAIN, high=MAX_COUNT,
                            high_from="n_available", widget="text", arg="n_train",
                            help="Images every model trains on (the same ones for all). Small sets make memorization "
                                 "easier to see."),
    "cfg_bn_hidden": _widths("bn_hid", (256,), "hidden widths", "Encoder hidden layers, e.g. 256 or 256, 64; the "
                                                                  "decoder mirrors them.", arg="hidden"),
    "cfg_bn_epochs": _epochs("bn_epochs", 150, "Passes over the training set, the same for every model."),
    "cfg_bn_seed": _seed("bn_seed", "Same seed = same subset, same starting weights, same batches."),
    "cfg_bn_batch": Field("bn_batch", "int", 64, "batch size", low=1, high=MAX_BATCH, widget="text", arg="batch_size",
                          help="Images per weight update, the same for every model."),
    "cfg_bn_lr": _lr("bn_lr", 0.001, label="Learning rate (Adam)", help="Adam's step size, the same for every model."),
})

SPLIT = Form({  # pages/split.py; the pair's code size starts at the session model's (ui.follow_defaults)
    "split_at": Field("sp_at", "int", 7, "split point", low=0, high=MAX_SPLIT_POINT, widget="select_slider",
                      label="Split point: the encoder is every module before it, the decoder every module after it",
                      help="The encoder is modules 0 … s-1 and hands its output, the code, to the decoder. ★ marks "
                           "the bottleneck (the narrowest point)."),  # 7: the quick model's bottleneck
    "cfg_split_preact": Field("sp_pre", "bool", False, "pre-activation panels",
                              label="Also show Linear outputs before their activation",
                              help="Off: one panel per whole layer (Linear + activation)."),
    "cfg_split_deep": _widths("sp_deep", (128, 64, 12), "deep side widths", "From the outside towards the code",
                              item="deep side width"),
    "cfg_split_shallow": _widths("sp_shallow", (32,), "shallow side widths",
                                 "From the outside towards the code; empty = a single Linear layer",
                                 item="shallow side width"),
    "cfg_split_code": _code("sp_code", 3, "Numbers in the code of both models.", arg=""),
    "cfg_split_epochs": _epochs("sp_epochs", 30, "Passes over the training images, for each model.",
                                by_dataset={catalog.MNIST: 10, catalog.FASHION: 10}),
    "cfg_split_n": Field("sp_n", "int", 1438, "training images", low=MIN_TRAIN, high=MAX_COUNT,
                         high_from="n_available", widget="text", arg="n_train",
                         by_dataset={catalog.MNIST: 5000, catalog.FASHION: 5000},  # all 1,438 of Digits
                         help="Images both models train on."),
})

LATENT_VIEWS = ("strip (1-number code)", "raw 2D", "raw 3D", "PCA 2D", "PCA 3D", "t-SNE 2D", "t-SNE 3D")
LATENT = Form({  # pages/latent.py; the view list depends on the code size (latent.view_options)
    "cfg_latent_view": Field("lt_view", "choice", "raw 2D", "code view", choices=LATENT_VIEWS, label="View",
                             help="Raw: the code numbers themselves. PCA: the code's main directions (a linear view). "
                                  "t-SNE: a nonlinear map that keeps neighbours together but bends distances."),
    "cfg_latent_tsne_n": Field("lt_tsne", "int", 500, "t-SNE points", low=TSNE_MIN, widget="text",
                               label="Points for t-SNE"),  # no upper bound: the page caps it with a note
    "latent_index_text": Field("", "int", None, "image index", low=0, high_from="n_test", widget="text",
                               label="…or type an image index"),
    "cfg_latent_grid_n": Field("lt_grid", "int", 10, "grid size", low=GRID_SIZES[0], high=GRID_SIZES[1],
                               widget="slider", help="Rows and columns of the lattice."),
    "cfg_latent_span": Field("lt_span", "float", 2.0, "grid reach", low=GRID_REACH[0], high=GRID_REACH[1],
                             step=GRID_REACH[2], widget="slider", label="Reach (standard deviations)"),
    "latent_from": Field("lt_from", "int", 0, "start image", low=0, high=MAX_COUNT, high_from="n_test",
                         widget="text", label="From image #", help="A held-out index."),
    "latent_to": Field("lt_to", "int", 1, "end image", low=0, high=MAX_COUNT, high_from="n_test", widget="text",
                       label="To image #", help="A held-out index."),
    "cfg_latent_steps": Field("lt_steps", "int", 8, "interpolation steps", low=INTERPOLATION_STEPS[0],
                              high=INTERPOLATION_STEPS[1], widget="slider", label="Steps"),
    "cfg_latent_n_samples": Field("lt_samples", "int", 24, "sample count", low=SAMPLE_ROW, high=MAX_SAMPLES,
                                  step=SAMPLE_ROW, widget="slider", label="Samples"),
    "latent_sampler": Field("lt_sampler", "choice", "fitted", "sampler", choices=tuple(SAMPLERS), labels=SAMPLERS,
                            widget="radio", label="Draw codes from",
                            help="A VAE is trained so that its codes look like N(0, I); a plain autoencoder is not."),
    "latent_seed": Field("lt_seed", "int", 0, "sample seed", low=0, high=MAX_SAMPLE_SEED, label="Seed"),
    "latent_other_epochs": _epochs("", 30, "Passes over the training set for the other model (it starts at your "
                                           "model's epochs)."),
    "latent_other_beta": Field("", "float", 0.1, "beta", low=0.0, high=MAX_BETA, widget="text",
                               label="Beta (KL weight)", arg="beta",
                               help="Weight of the KL term. Too large and the encoder stops using the code (the "
                                    "active-units count shows it); 0 turns off the pull towards N(0, I)."),
    "latent_cmp_seed": Field("lt_cmp_seed", "int", 0, "comparison seed", low=0, high=MAX_SAMPLE_SEED,
                             label="Sample seed"),
})

DENOISING = Form({  # pages/denoising.py: denoise.DenoiseSettings
    "cfg_dn_dataset": dataset_field("dn_data"),
    "cfg_dn_noise": Field("dn_noise", "choice", "gaussian", "noise", choices=tuple(NOISE_KINDS), labels=NOISE_KINDS,
                          arg="noise", help="How the training and test images are corrupted."),
    "cfg_dn_level": Field("dn_level", "float", 0.3, "noise level", low=0.0, above=True, high=MAX_NOISE_LEVEL,
                          widget="text", arg="level", hint="try 0.3."),
    "cfg_dn_hidden": _widths("dn_hid", (128,), "hidden widths", HIDDEN_HELP + " Both models get the same network.",
                             arg="encoder"),
    "cfg_dn_bottleneck": _code("dn_code", 16, "Numbers in the bottleneck.", high_from="input_dim"),
    "cfg_dn_layout": _layout("dn_layout"),  # issue 14: both models convolutional
    "cfg_dn_channels": _channels("dn_ch"),
    "cfg_dn_epochs": _epochs("dn_epochs", 40, "Passes over the copied training set."),
    "cfg_dn_copies": Field("dn_copies", "int", 4, "noisy copies", low=1, high=MAX_COPIES, widget="text",
                           label="Noisy copies per image", arg="copies",
                           help="Each epoch the denoiser sees this many differently corrupted versions of every "
                                "training image; the plain AE sees as many clean repeats, so both take the same number "
                                "of steps."),
    "cfg_dn_n_train": Field("dn_n", "int", None, "training images", low=MIN_LAB_TRAIN, high=MAX_COUNT,
                            high_from="n_available", blank=True, widget="text", label="Training images (blank = all)",
                            arg="n_train"),
})

ANOMALY = Form({  # pages/anomaly.py: anomaly.AnomalySettings
    "cfg_an_dataset": dataset_field("an_data"),
    "cfg_an_normal": Field("an_normal", "choices", (0, 1, 2, 4, 5, 6, 7, 8, 9), "normal classes",
                           choices=tuple(range(MAX_CLASSES)), label="Normal classes (the only ones the model trains on)",
                           arg="normal", sort=True,
                           help="Every class you leave out counts as an anomaly in the held-out set."),
    "cfg_an_hidden": _widths("an_hid", (128,), "hidden widths", HIDDEN_HELP, arg="encoder"),
    "cfg_an_bottleneck": _code("an_code", 8, "Numbers in the main model's code.", high_from="input_dim"),
    "cfg_an_layout": _layout("an_layout"),  # issue 14: every detector convolutional
    "cfg_an_channels": _channels("an_ch"),
    "cfg_an_epochs": _epochs("an_epochs", 60, "Passes over the normal training images."),
    "cfg_an_sizes": Field("an_sizes", "ints", (2, 4, 8, 16, 32), "compared code sizes", low=1, high=MAX_WIDTH,
                          high_from="input_dim", max_items=MAX_SIZES, widget="text", item="code size",
                          items="code sizes", hint="each one trains a model.", label="Code sizes to compare",
                          arg="sizes", sort=True,
                          help=f"Comma-separated, at most {MAX_SIZES}; one model each, same settings and seed. The "
                               "main code size is always included."),
    "cfg_an_n_train": Field("an_n", "int", None, "training images", low=MIN_LAB_TRAIN, high=MAX_COUNT,
                            high_from="n_available", blank=True, widget="text", label="Training images (blank = all)",
                            arg="n_train", help="Drawn from the whole training set before keeping the normal ones."),
})

PCA = Form({  # pages/pca.py: linear.PcaLabConfig
    "cfg_pca_dataset": dataset_field("pca_data"),
    "cfg_pca_k": Field("pca_k", "int", 8, "code size k", low=1, high=MAX_PCA_K, widget="slider", arg="k",
                       label="Code size k (= principal components kept)",
                       help="The bottleneck of both autoencoders and the number of principal directions PCA keeps."),
    "cfg_pca_n_train": Field("pca_n", "choice", 2000, "training samples", choices=(500, 1000, 2000, 5000, 10000, "all"),
                             widget="select_slider", arg="n_train", none_as="all",
                             help="PCA and both autoencoders use the same samples. More samples = slower epochs."),
    "cfg_pca_epochs": _epochs("pca_epochs", 120, "Passes over the training samples, for each autoencoder."),
    "cfg_pca_lr": _lr("pca_lr", 0.01, label="Learning rate (Adam)", help="Adam's starting step size."),
    "cfg_pca_decay": Field("pca_decay", "bool", True, "learning-rate steps", label="Lower the learning rate in steps",
                           arg="decay", help="Divide the learning rate by 3 after each third of the epochs. The last "
                                             "few percent towards PCA come from the small-variance directions, which "
                                             "need small, calm steps."),
    "cfg_pca_hidden": Field("pca_hid", "int", 64, "hidden width", low=1, high=MAX_WIDTH, widget="text", arg="hidden",
                            label="Nonlinear AE hidden width", help="Units in the nonlinear autoencoder's hidden "
                                                                    "layer, on each side."),
    "cfg_pca_activation": Field("pca_act", "choice", "relu", "activation",
                                choices=tuple(a for a in ACTIVATIONS if a != "identity"), labels=ACTIVATIONS,
                                label="Nonlinear AE activation", arg="activation"),
    "cfg_pca_seed": _seed("pca_seed"),
})

_SIG_HELP = {"hidden": "Encoder hidden layers, e.g. 128, 64 (the decoder mirrors them).",
             "bottleneck": "Numbers in the code.", "epochs": "Passes over the training rows.",
             "lr": "Adam's step size; the default is 0.003."}
SIGNALS = Form({  # pages/signals.py: signals.SignalConfig, and each tab's model (signals.model_settings)
    "cfg_sig_channels": Field("sig_ch", "int", 3, "channels", low=1, high=MAX_SENSOR_CHANNELS, widget="slider",
                              label="Channels per window", arg="channels"),
    "cfg_sig_noise": Field("sig_noise", "float", 0.05, "sensor noise", low=0.0, high=MAX_SENSOR_NOISE,
                           step=SENSOR_NOISE_STEP, widget="slider", arg="noise",
                           help="Standard deviation of the noise, relative to the largest sine amplitude."),
    "cfg_sig_hidden": _widths("sig_hid", (128, 64), "hidden layer", _SIG_HELP["hidden"], item="hidden layer",
                              label="Hidden widths", arg="encoder"),
    "cfg_sig_bottleneck": _code("sig_code", 8, _SIG_HELP["bottleneck"], label="Bottleneck"),
    "cfg_sig_epochs": _epochs("sig_epochs", 40, _SIG_HELP["epochs"]),
    "cfg_sig_lr": _lr("sig_lr", 0.003, label="Learning rate (Adam)", help=_SIG_HELP["lr"]),
    "cfg_sig_score": Field("sig_score", "choice", "max", "anomaly score", choices=tuple(SIGNAL_SCORES),
                           labels=SIGNAL_SCORES, widget="radio",
                           help="Change it and watch the AUC of each glitch kind; no retraining needed."),
    "cfg_csv_hidden": _widths("sig_csv_hid", (32,), "table hidden layer", _SIG_HELP["hidden"], item="hidden layer",
                              label="Hidden widths", arg="encoder"),
    "cfg_csv_bottleneck": _code("sig_csv_code", 3, _SIG_HELP["bottleneck"], label="Bottleneck",
                                name="table bottleneck"),
    "cfg_csv_epochs": _epochs("sig_csv_epochs", 150, _SIG_HELP["epochs"], name="table epochs"),
    "cfg_csv_lr": _lr("sig_csv_lr", 0.003, label="Learning rate (Adam)", name="table learning rate",
                      help=_SIG_HELP["lr"]),
})
SIGNAL_MODELS = {  # tab -> its model's keys in SIGNALS: hidden widths, bottleneck, epochs, learning rate
    "sig": ("cfg_sig_hidden", "cfg_sig_bottleneck", "cfg_sig_epochs", "cfg_sig_lr"),
    "csv": ("cfg_csv_hidden", "cfg_csv_bottleneck", "cfg_csv_epochs", "cfg_csv_lr"),
}


COMPARE = Form({  # pages/compare.py (Kinds side by side): kinds.CompareSettings
    "cfg_cmp_dataset": dataset_field("cmp_data"),
    "cfg_cmp_kinds": Field("cmp_kinds", "choices", tuple(COMPARED_KINDS), "kinds", choices=tuple(COMPARED_KINDS),
                           labels=COMPARED_KINDS, label="Kinds", arg="kinds",
                           help="Trained one after the other on the same images, each with the CPU to itself."),
    "cfg_cmp_budget": Field("cmp_budget", "choice", "seconds", "budget", choices=tuple(BUDGETS), labels=BUDGETS,
                            widget="radio", arg="budget",
                            help="Same seconds: what each kind makes of equal compute (a cheap model runs more epochs; "
                                 "numbers vary a little with the server's load). Same epochs: every run reproducible."),
    "cfg_cmp_seconds": Field("cmp_seconds", "float", 2.5, "seconds per kind", low=MIN_KIND_SECONDS,
                             high=MAX_KIND_SECONDS, widget="text", arg="seconds",
                             help="Training time of each kind (time spent waiting for your turn does not count)."),
    "cfg_cmp_epochs": Field("cmp_epochs", "int", 30, "epochs per kind", low=1, high=MAX_EPOCHS, widget="text",
                            arg="epochs", help="Passes over the training images, the same for every kind."),
    "cfg_cmp_bottleneck": _code("cmp_code", 8, "Of the dense, convolutional and VAE models.", high_from="input_dim"),
    "cfg_cmp_hidden": Field("cmp_hid", "int", 128, "hidden width", low=1, high=MAX_WIDTH, widget="text", arg="hidden",
                            help="One hidden layer each side: dense AE, VAE."),
    "cfg_cmp_channels": _channels("cmp_ch"),
    "cfg_cmp_wide": Field("cmp_wide", "int", None, "wide code size", low=1, high=MAX_WIDTH, blank=True, widget="text",
                          label="Wide code size (blank = 4x input)", arg="wide",
                          help="Code of the sparse AE and of the same code without penalty."),
    "cfg_cmp_sparsity": Field("cmp_l1", "float", 0.1, "sparsity weight", low=0.0, high=MAX_SPARSITY, widget="text",
                              arg="sparsity", help="Weight of the L1 penalty on the sparse AE's code (mean |code|).",
                              hint="a weight too large makes the penalty outweigh the reconstruction: every code "
                                   "number is pushed to 0 and every reconstruction becomes the same average image. "
                                   "Try 0.001 to 0.1."),
    "cfg_cmp_beta": Field("cmp_beta", "float", 0.1, "beta", low=0.0, high=MAX_BETA, widget="text", label="β (VAE)",
                          arg="beta", help="Weight of the VAE's KL term."),
})

DRAW = Form({  # pages/draw.py (Draw your own input)
    "cfg_draw_view": Field("dr_view", "choice", "2D", "code projection", choices=("2D", "3D"), widget="radio",
                           label="Projection of the code",
                           help="A code of more than 3 numbers cannot be drawn as it is: PCA shows its two or three "
                                "main directions, and your drawing's code is projected the same way."),
})


def lessons_form(n_steps: int) -> Form:
    """The Lessons page's URL: the open step (its count comes from aelab.lessons, which needs torch)."""
    return Form({"cfg_lessons_step": Field("step", "int", 1, "lesson step", low=1, high=n_steps)})
