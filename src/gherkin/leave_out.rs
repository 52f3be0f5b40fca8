//! Scenarios a target cannot run, found while they run: a step that meets a precondition the
//! target cannot meet (its client configuration sets no lockout, the run's user has no bank
//! data to address, a service or API version the target does not serve) calls [`leave_out`],
//! and the scenario is left out with that reason, as `@mock-only` scenarios are before they
//! start: counted apart from passed and failed, never a failure.
//!
//! A step stops by panicking with a marked message; [`LeaveOut`], a cucumber writer, turns
//! that step's failure into a skipped step (so cucumber's console, summary and JUnit report
//! show it skipped, not failed) and notes the scenario, so that cucumber's `fail_on_skipped`
//! keeps failing on undefined steps only ([`LeftOut::is_left_out`]).

use std::collections::HashSet;
use std::sync::Arc;

use cucumber::event::{self, StepError};
use cucumber::{parser, writer, Event, Writer};
use parking_lot::Mutex;

/// The start of a step's panic message that leaves its scenario out.
pub const LEFT_OUT: &str = "left out for this target: ";

/// Stop the scenario: the target cannot meet a precondition of it, for `reason`. The
/// scenario is left out (not failed), and the run prints it with the reason. For step
/// definitions, the built-in ones and an integrator's own.
pub fn leave_out(reason: impl std::fmt::Display) -> ! {
    // An unwind without the panic hook: a scenario left out is not a crash to report.
    std::panic::resume_unwind(Box::new(format!("{LEFT_OUT}{reason}")))
}

/// The reason of a step failure that left its scenario out, if it is one.
pub fn left_out_reason(err: &StepError) -> Option<String> {
    let StepError::Panic(info) = err else {
        return None;
    };
    let text = info
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| info.downcast_ref::<&str>().copied())?;
    text.strip_prefix(LEFT_OUT).map(str::to_string)
}

/// The scenarios a run left out while they ran, shared by the writer and cucumber's
/// `fail_on_skipped` filter.
#[derive(Debug, Clone, Default)]
pub struct LeftOut(Arc<Mutex<HashSet<String>>>);

impl LeftOut {
    fn key(feature: &cucumber::gherkin::Feature, scenario: &cucumber::gherkin::Scenario) -> String {
        format!(
            "{}\u{0}{}\u{0}{}",
            feature.name, scenario.position.line, scenario.name
        )
    }

    /// Whether the scenario was left out (its skipped step is not a failure).
    pub fn is_left_out(
        &self,
        feature: &cucumber::gherkin::Feature,
        scenario: &cucumber::gherkin::Scenario,
    ) -> bool {
        self.0.lock().contains(&Self::key(feature, scenario))
    }
}

/// A cucumber writer in front of `W`: a step failure that [`leave_out`] caused reaches `W` as
/// a skipped step.
#[derive(Debug)]
pub struct LeaveOut<W> {
    writer: W,
    left_out: LeftOut,
}

impl<W> LeaveOut<W> {
    pub fn new(writer: W, left_out: LeftOut) -> LeaveOut<W> {
        LeaveOut { writer, left_out }
    }
}

impl<World, W> Writer<World> for LeaveOut<W>
where
    World: cucumber::World,
    W: Writer<World>,
{
    type Cli = W::Cli;

    async fn handle_event(
        &mut self,
        mut ev: parser::Result<Event<event::Cucumber<World>>>,
        cli: &Self::Cli,
    ) {
        use event::{Cucumber, Feature, Rule, Scenario, Step};
        if let Ok(Event {
            value: Cucumber::Feature(feature, happened),
            ..
        }) = &mut ev
        {
            let scenario = match happened {
                Feature::Scenario(sc, retryable)
                | Feature::Rule(_, Rule::Scenario(sc, retryable)) => Some((sc, retryable)),
                _ => None,
            };
            if let Some((sc, retryable)) = scenario {
                if let Scenario::Step(_, step) | Scenario::Background(_, step) =
                    &mut retryable.event
                {
                    let leaves = matches!(step, Step::Failed(_, _, _, err) if left_out_reason(err).is_some());
                    if leaves {
                        self.left_out.0.lock().insert(LeftOut::key(feature, sc));
                        *step = Step::Skipped;
                    }
                }
            }
        }
        self.writer.handle_event(ev, cli).await;
    }
}

impl<World, W: writer::Stats<World>> writer::Stats<World> for LeaveOut<W>
where
    Self: Writer<World>,
{
    fn passed_steps(&self) -> usize {
        self.writer.passed_steps()
    }
    fn skipped_steps(&self) -> usize {
        self.writer.skipped_steps()
    }
    fn failed_steps(&self) -> usize {
        self.writer.failed_steps()
    }
    fn retried_steps(&self) -> usize {
        self.writer.retried_steps()
    }
    fn parsing_errors(&self) -> usize {
        self.writer.parsing_errors()
    }
    fn hook_errors(&self) -> usize {
        self.writer.hook_errors()
    }
    fn execution_has_failed(&self) -> bool {
        self.writer.execution_has_failed()
    }
}

impl<W: writer::Normalized> writer::Normalized for LeaveOut<W> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_marked_panic_leaves_a_scenario_out() {
        let marked = std::panic::catch_unwind(|| leave_out("lockout is off")).unwrap_err();
        let err = StepError::Panic(Arc::from(marked));
        assert_eq!(left_out_reason(&err).as_deref(), Some("lockout is off"));
        let plain = std::panic::catch_unwind(|| panic!("a boundary did not hold")).unwrap_err();
        assert_eq!(left_out_reason(&StepError::Panic(Arc::from(plain))), None);
        assert_eq!(left_out_reason(&StepError::NotFound), None);
    }
}
