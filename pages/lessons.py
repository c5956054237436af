"""Lessons: the seed documents' ideas in order. Commit to an answer, then run the measurement that settles it."""
import streamlit as st

from aelab import data, figures, lessons, settings, ui
from aelab.jobs import Job
from aelab.lessons import STEPS, Outcome, Step

STEP_KEY = "cfg_lessons_step"  # 1-based number of the open step (kept across pages, mirrored in the URL)
ANSWERS = "lessons_answers"  # step key -> index of the committed choice
RESULTS = "lessons_results"  # step key -> Outcome of its experiment
RUNNING = "lessons_running"  # key of the step whose experiment the job runs
FAILED = "lessons_failed"  # (step key, error text) of an experiment that raised
JOB = "lesson"  # this page's job in the session registry: one experiment at a time
URL = settings.lessons_form(len(STEPS))  # the open step, in the URL


def commit(step: Step) -> None:
    choice = st.session_state.get(f"lesson_q_{step.key}")
    if choice is not None:
        st.session_state[ANSWERS][step.key] = choice


def move(delta: int) -> None:
    st.session_state[STEP_KEY] = min(max(st.session_state[STEP_KEY] + delta, 1), len(STEPS))


def reset() -> None:
    st.session_state[ANSWERS] = {}
    st.session_state[RESULTS] = {}


def step_label(i: int) -> str:
    """A fixed label per step (the select box matches its value by this text, so it must not change)."""
    step = STEPS[i - 1]
    return f"{i}. {step.section} · {step.title}"


def ask(step: Step) -> int | None:
    """The question: a free choice until committed, then locked on the committed answer."""
    answer = st.session_state[ANSWERS].get(step.key)
    fmt = step.choices.__getitem__
    options = range(len(step.choices))
    if answer is None:
        choice = st.radio(step.question, options, index=None, format_func=fmt, key=f"lesson_q_{step.key}")
        st.button("Commit answer", key=f"lesson_commit_{step.key}", type="primary", disabled=choice is None,
                  on_click=commit, args=(step,), help="Your answer is locked once committed.")
        st.caption("Pick an answer and commit to it: the explanation and the experiment open after that.")
        return None
    st.radio(step.question, options, index=answer, format_func=fmt, key=f"lesson_locked_{step.key}", disabled=True)
    if lessons.is_right(step, answer):
        st.success(f"Your answer (locked): **{step.choices[answer]}**. That's right.", icon="✅")
    else:
        st.warning(f"Your answer (locked): **{step.choices[answer]}**. Not quite: the answer is "
                   f"**{step.options[step.answer]}**.", icon="🤔")
    return answer


def show_outcome(outcome: Outcome) -> None:
    cols = st.columns(len(outcome.metrics))
    for col, (label, value) in zip(cols, outcome.metrics):
        col.metric(label, value)
    if outcome.code:
        st.caption("What PyTorch said:")
        st.code(outcome.code, language=None, wrap_lines=True)
    if outcome.figure is not None:  # a copy at the classroom height: the stored one keeps its base height
        ui.chart(figures.with_height(outcome.figure, ui.figure_height(outcome.figure.layout.height or 300)),
                 width="stretch")
    st.info(outcome.summary, icon="📏")
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
    if outcome is not None:
        show_outcome(outcome)
    if step.page:
        ui.page_link_or_note(step.page, f"Explore further: {step.page_label}", icon="🔬")


def main() -> None:
    ui.route_through_app()
    st.session_state.setdefault(STEP_KEY, 1)
    st.session_state.setdefault(ANSWERS, {})
    st.session_state.setdefault(RESULTS, {})
    ui.sync_query_params(URL, "lessons")
    if st.session_state[STEP_KEY] not in range(1, len(STEPS) + 1):
        st.session_state[STEP_KEY] = 1
    st.title("🎓 Lessons")
    st.caption("Sixteen short steps through the ideas behind autoencoders. Each asks a question first: commit to "
               "your answer, then see the explanation and run a small live experiment that settles it.")
    answers = st.session_state[ANSWERS]
    right = sum(lessons.is_right(lessons.by_key(k), v) for k, v in answers.items())
    st.progress(len(answers) / len(STEPS), text=f"{len(answers)} of {len(STEPS)} answered, {right} right")
    st.selectbox("Step", range(1, len(STEPS) + 1), format_func=step_label, key=STEP_KEY)
    i = st.session_state[STEP_KEY]
    step = STEPS[i - 1]
    st.header(step.title)
    st.caption(f"Step {i} of {len(STEPS)} · {step.section}")
    st.markdown(step.intro)
    if ask(step) is not None:
        with st.container(border=True):
            st.markdown(f"**Why.** {step.reveal}")
        experiment(step)
    c1, c2, c3 = st.columns([1, 1, 2])
    c1.button("← Previous", key="lessons_prev", on_click=move, args=(-1,), disabled=i == 1, width="stretch")
    c2.button("Next →", key="lessons_next", on_click=move, args=(1,), disabled=i == len(STEPS), width="stretch")
    with c3:
        ui.copy_link_button("lessons", label="🔗 Link to this step")
    if answers:
        st.button("Clear my answers", key="lessons_reset", on_click=reset,
                  help="Unlock every question (for the next learner at this screen).")


main()
