"""Lessons: the seed documents' ideas in a beginner's order. Predict, run the measurement, then read why."""
import streamlit as st

from aelab import data, figures, glossary, lessons, questions, settings, ui
from aelab.jobs import Job
from aelab.lesson_demos import Outcome
from aelab.lessons import Step

STEP_KEY = "cfg_lessons_step"  # link number of the open step (lessons.Step.link: kept across pages, in the URL)
RESULTS = "lessons_results"  # step key -> Outcome of its experiment
RUNNING = "lessons_running"  # key of the step whose experiment the job runs
FAILED = "lessons_failed"  # (step key, error text) of an experiment that raised
JOB = "lesson"  # this page's job in the session registry: one experiment at a time


def order() -> list[int]:
    """The steps' link numbers in the beginner's order."""
    return [s.link for s in lessons.steps()]


def move(delta: int) -> None:
    links = order()
    i = links.index(st.session_state[STEP_KEY])
    st.session_state[STEP_KEY] = links[min(max(i + delta, 0), len(links) - 1)]


def reset() -> None:
    ui.clear_predictions(questions.LESSON_PREFIX)
    st.session_state[RESULTS] = {}


def step_label(link: int) -> str:
    """A fixed label per step (the select box matches its value by this text, so it must not change)."""
    step = lessons.by_link(link)
    return f"{lessons.position(step)}. {step.section} · {step.title}"


def show_outcome(step: Step, outcome: Outcome) -> None:
    """The measurement, then "you predicted X; this run shows Y", then why a run comes out that way."""
    ui.metrics(outcome.metrics)
    if outcome.code:
        st.caption("What PyTorch said:")
        st.code(outcome.code, language=None, wrap_lines=True)
    if outcome.figure is not None:  # a copy at the classroom height: the stored one keeps its base height
        ui.chart(figures.with_height(outcome.figure, ui.figure_height(outcome.figure.layout.height or 300)),
                 width="stretch")
    ui.reveal(questions.lesson_id(step.key), outcome.shows, outcome, step.question, step.options)
    st.info(outcome.summary, icon="📏")
    why = step.why.get(outcome.shows)
    if why:
        with st.container(border=True):
            st.markdown(f"**Why.** {why}")
    st.caption(f"Measured on this machine in {outcome.seconds:.1f} s.")


def start_experiment(step: Step) -> None:
    """Run the step's measurement as a background job (it queues for a server slot like any training)."""
    bundle = ui.get_bundle(data.DIGITS)
    ui.set_job(JOB, Job(lambda ctx: step.experiment(bundle), name=f"lesson-{step.key}",
                        student=ui.student_key()).start())
    st.session_state[RUNNING] = step.key


def collect(job: Job) -> None:
    key = st.session_state.get(RUNNING)
    if isinstance(job.result, Outcome) and key:
        st.session_state[RESULTS][key] = job.result
    elif job.error and key:
        st.session_state[FAILED] = (key, job.error)


def draw_job(view, step: Step) -> None:
    if view is None or st.session_state.get(RUNNING) != step.key:
        return
    if view.status == "queued":
        st.info(f"Waiting for a free slot on the server: place {view.queue_position} in the queue…", icon="⏳")
    elif view.active:
        st.info("Measuring… (small models on the built-in digits, a few seconds)", icon="⏳")


def experiment(step: Step) -> None:
    st.subheader("Settle it with a measurement")
    busy = ui.job_is_active(JOB)
    if st.button(f"▶ {step.run_label}", key=f"lesson_run_{step.key}", disabled=busy,
                 help="Trains or probes small models on the built-in digits; takes a few seconds at most."):
        start_experiment(step)
    ui.live_job(JOB, lambda view: draw_job(view, step), on_done=collect, every=0.3)
    failed = st.session_state.get(FAILED)
    if failed and failed[0] == step.key:
        st.error(f"The experiment failed: {failed[1]}")
    outcome = st.session_state[RESULTS].get(step.key)
    if outcome is not None and ui.await_prediction(questions.lesson_id(step.key), outcome):
        show_outcome(step, outcome)
    if step.page:
        ui.page_link_or_note(step.page, f"Explore further: {step.page_label}", icon="🔬")


def progress():
    """How many lessons have a committed prediction; returns the place for the session's score (filled at the end of
    the run, after this run's reveal is counted)."""
    answered = sum(ui.predicted(questions.lesson_id(s.key)) is not None for s in lessons.steps())
    st.progress(answered / len(lessons.steps()), text=f"{answered} of {len(lessons.steps())} predicted")
    return st.empty()


def main() -> None:
    ui.route_through_app()
    steps = lessons.steps()
    st.session_state.setdefault(STEP_KEY, steps[0].link)
    st.session_state.setdefault(RESULTS, {})
    ui.sync_query_params(settings.lessons_form(len(steps)), "lessons")
    if st.session_state[STEP_KEY] not in order():
        st.session_state[STEP_KEY] = steps[0].link
    st.title("🎓 Lessons")
    st.caption(f"{len(steps)} short steps through the ideas behind autoencoders, in an order a beginner can follow. "
               "Each asks a question first: commit to your prediction, run the small live experiment, and then read "
               "what this run shows and why.")
    score = progress()
    st.selectbox("Step", order(), format_func=step_label, key=STEP_KEY)
    step = lessons.by_link(st.session_state[STEP_KEY])
    st.header(step.title)
    st.caption(f"Step {lessons.position(step)} of {len(steps)} · {step.section}")
    st.markdown(step.intro)
    if step.terms:
        ui.terms(*step.terms)
    if ui.predict_first(questions.lesson_id(step.key), step.question, step.options) is not None:
        experiment(step)
    links, i = order(), order().index(step.link)
    c1, c2, c3 = st.columns([1, 1, 2])
    c1.button("← Previous", key="lessons_prev", on_click=move, args=(-1,), disabled=i == 0, width="stretch")
    c2.button("Next →", key="lessons_next", on_click=move, args=(1,), disabled=i == len(links) - 1, width="stretch")
    with c3:
        ui.copy_link_button("lessons", label="🔗 Link to this step")
    if any(q.startswith(questions.LESSON_PREFIX) for q in ui.predictions()):
        st.button("Clear my answers", key="lessons_reset", on_click=reset,
                  help="Unlock every question (for the next learner at this screen).")
    with st.expander("📖 Glossary: every term the lab uses"):
        st.markdown(glossary.markdown())
    ui.prediction_score_caption(score)


main()
