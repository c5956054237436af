"""The predict-first questions of the experiment pages: id, the page that asks, the question, the option keys.

Every experiment page asks one of these before it reveals what it measured (ui.predict_first), and its lab says
which option the run's own numbers support (the `measured_*` functions next to each lab's verdict). The lessons'
questions live in aelab/lessons.toml; `find` serves both, under the ids "lesson_<step key>".
No torch here: the class board imports this module.
"""
from __future__ import annotations

from dataclasses import dataclass

SKIPPED = "skipped"  # the answer recorded when a teacher skips the question in classroom mode (the room answers)
LESSON_PREFIX = "lesson_"  # lesson questions are "lesson_<step key>"


@dataclass(frozen=True)
class Question:
    id: str  # stable identifier (session state, the class board, tests)
    page: str  # the page that asks it, e.g. "pages/denoising.py"
    text: str  # the question, asked before anything is revealed
    options: dict[str, str]  # option key -> the text shown, in display order

    def show(self, key: str | None) -> str:
        """The text of an option key (the key itself when it is not an option, e.g. SKIPPED)."""
        return self.options.get(key, "skipped: the room answered aloud" if key == SKIPPED else str(key))


QUESTIONS: dict[str, Question] = {q.id: q for q in (
    Question("bottleneck", "pages/bigger_bottleneck.py",
             "As the bottleneck grows from the smallest to the largest size, what happens to the reconstruction error "
             "on *held-out* images the models never trained on?", {
                 "falls": "It keeps falling: a bigger code is better on new images too",
                 "levels": "It falls, then levels off",
                 "rises": "It falls, then rises again: the big codes memorize and get worse on new images",
                 "flat": "The code size makes little difference",
             }),
    Question("denoising", "pages/denoising.py",
             "Both models get the same noisy held-out images. Whose output ends up closest to the clean original?", {
                 "denoiser": "The denoising AE's (trained noisy in, clean out)",
                 "plain": "The plain AE's (trained clean in, clean out)",
                 "noisy": "Neither: the noisy input itself is closer than either output",
             }),
    Question("anomaly", "pages/anomaly.py",
             "Trained on the normal classes only: how do the reconstruction errors of the classes it never saw compare "
             "with those of normal held-out images?", {
                 "larger": "Clearly larger (the median at least 1.2 times as large)",
                 "same": "About the same",
                 "smaller": "Clearly smaller",
             }),
    Question("pca", "pages/pca.py",
             "Where does the linear autoencoder's held-out error end, compared with PCA's error for the same k?", {
                 "below": "Clearly below PCA's (more than 5% lower)",
                 "at": "At PCA's (within 5%)",
                 "above": "Clearly above PCA's (more than 5% higher)",
             }),
    Question("split", "pages/split.py",
             "A kNN vote names each held-out image's class from one layer's activations. At which layers does it "
             "score best?", {
                 "encoder": "Before the code: the input or an encoder layer",
                 "code": "At the code (the bottleneck)",
                 "decoder": "After the code: a decoder layer",
             }),
    Question("latent", "pages/latent.py",
             "Draw random codes (the autoencoder from a Gaussian fitted to its codes, the VAE from N(0, I)) and measure "
             "how far they land from real codes. Whose samples land closer?", {
                 "vae": "The VAE's (more than 10% closer)",
                 "ae": "The autoencoder's (more than 10% closer)",
                 "same": "About the same (within 10%)",
             }),
    Question("signals", "pages/signals.py",
             "Trained on normal sensor windows only, which kind of glitch will the autoencoder find hardest to spot?", {
                 "spike": "A spike (one reading jumps)",
                 "flat-line": "A flat-line (the sensor freezes)",
                 "drift": "A drift (a slow slope)",
                 "equal": "All about equally hard (AUCs within 0.01)",
             }),
)}


def find(question_id: str) -> Question | None:
    """A page's question, or a lesson's ("lesson_<step key>", read from aelab/lessons.toml on first use)."""
    if question_id in QUESTIONS:
        return QUESTIONS[question_id]
    if question_id.startswith(LESSON_PREFIX):
        from aelab import lessons

        try:
            step = lessons.by_key(question_id[len(LESSON_PREFIX):])
        except KeyError:
            return None
        return Question(question_id, "pages/lessons.py", step.question, dict(step.options))
    return None


def lesson_id(step_key: str) -> str:
    return LESSON_PREFIX + step_key
