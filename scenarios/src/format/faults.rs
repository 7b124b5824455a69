//! What happens to the cluster and what must hold: `[[faults]]` and `[expect]`.
//!
//! A fault names its victims by node name; which keys it needs depends on its action
//! (`partition` needs `from` and `to`, `stall-poll` a consumer and a `duration_ms`). The
//! schedule is sorted by time, so a file may list its faults in any order.

use super::Ctx;
use super::file::{FileExpect, FileFault};
use super::nodes::Nodes;
use crate::checkers;
use crate::error::ScenarioError;
use crate::model::{Expectations, FaultAction, ScheduledFault};
use toml::Spanned;

/// The actions a fault may take, for "unknown action" messages.
const ACTIONS: &str = "process-crash, power-loss, power-loss-all, shutdown, restart, partition, heal, reset-connection, stall-poll, close, seek-to-beginning, restart-task, set-compatibility, promote";

/// `[[faults]]`, in time order.
pub(super) fn schedule(
    ctx: &Ctx<'_>,
    raw: &[FileFault],
    nodes: &Nodes,
    duration_ms: u64,
) -> Result<Vec<ScheduledFault>, ScenarioError> {
    let mut faults = Vec::new();
    for (i, f) in raw.iter().enumerate() {
        let fault = Fault {
            ctx,
            nodes,
            raw: f,
            field: format!("faults[{i}]"),
        };
        if *f.at_ms.get_ref() > duration_ms {
            return Err(ctx.err(
                f.at_ms.span(),
                format!("{}.at_ms", fault.field),
                format!("after the end of the run ({duration_ms} ms)"),
            ));
        }
        faults.push(ScheduledFault {
            at_ms: *f.at_ms.get_ref(),
            action: fault.action()?,
        });
    }
    faults.sort_by_key(|f| f.at_ms);
    Ok(faults)
}

/// One `[[faults]]` entry being read.
struct Fault<'a> {
    ctx: &'a Ctx<'a>,
    nodes: &'a Nodes,
    raw: &'a FileFault,
    field: String,
}

impl Fault<'_> {
    fn action(&self) -> Result<FaultAction, ScenarioError> {
        let f = self.raw;
        Ok(match f.action.get_ref().as_str() {
            "process-crash" => FaultAction::ProcessCrash {
                node: self.node(&f.node, "node")?,
            },
            "power-loss" => FaultAction::PowerLoss {
                node: self.node(&f.node, "node")?,
            },
            "power-loss-all" => FaultAction::PowerLossAll,
            "shutdown" => FaultAction::Shutdown {
                node: self.node(&f.node, "node")?,
            },
            "restart" => FaultAction::Restart {
                node: self.node(&f.node, "node")?,
            },
            "partition" => FaultAction::Partition {
                from: self.node(&f.from, "from")?,
                to: self.node(&f.to, "to")?,
                two_way: f.two_way,
            },
            "heal" => FaultAction::Heal,
            "reset-connection" => FaultAction::ResetConnection {
                a: self.node(&f.a, "a")?,
                b: self.node(&f.b, "b")?,
            },
            "stall-poll" => {
                let Some(duration) = &f.duration_ms else {
                    return Err(self.ctx.err(
                        f.action.span(),
                        format!("{}.duration_ms", self.field),
                        "`stall-poll` needs `duration_ms`",
                    ));
                };
                FaultAction::StallPoll {
                    node: self.consumer(&f.node)?,
                    duration_ms: *duration.get_ref(),
                }
            }
            "close" => FaultAction::Close {
                node: self.consumer(&f.node)?,
            },
            "seek-to-beginning" => FaultAction::SeekToBeginning {
                node: self.consumer(&f.node)?,
            },
            "promote" => FaultAction::Promote {
                node: self.of_kind(&f.node, "a standby database", Nodes::is_standby)?,
            },
            "restart-task" => FaultAction::RestartTask {
                node: self.of_kind(&f.node, "a connector task", Nodes::is_task)?,
            },
            "set-compatibility" => {
                let node = self.of_kind(&f.node, "a schema registry", Nodes::is_registry)?;
                let subject = self.text(&f.subject, "subject")?;
                let mode = self.text(&f.compatibility, "compatibility")?;
                let compatibility = super::registries::compatibility(
                    &kafkasim_core::config::properties::PropertyValue::Str(mode),
                )
                .map_err(|why| {
                    let span = f.compatibility.as_ref().map_or(0..0, |c| c.span());
                    self.ctx
                        .err(span, format!("{}.compatibility", self.field), why)
                })?;
                FaultAction::SetCompatibility {
                    node,
                    subject,
                    compatibility,
                }
            }
            other => {
                return Err(self.ctx.err(
                    f.action.span(),
                    format!("{}.action", self.field),
                    format!("unknown action `{other}` (actions: {ACTIONS})"),
                ));
            }
        })
    }

    /// The node named by key `key`, which the action needs.
    fn node(&self, value: &Option<Spanned<String>>, key: &str) -> Result<String, ScenarioError> {
        let field = format!("{}.{key}", self.field);
        let Some(v) = value else {
            let why = format!("`{}` needs `{key}`", self.raw.action.get_ref());
            return Err(self.ctx.err(self.raw.action.span(), field, why));
        };
        if self.nodes.id(v.get_ref()).is_none() {
            let why = format!(
                "unknown node `{}` (nodes: {})",
                v.get_ref(),
                self.nodes.known()
            );
            return Err(self.ctx.err(v.span(), field, why));
        }
        Ok(v.get_ref().clone())
    }

    /// The `node` of an action that needs a node of one kind (`what`).
    fn of_kind(
        &self,
        value: &Option<Spanned<String>>,
        what: &str,
        is: fn(&Nodes, &str) -> bool,
    ) -> Result<String, ScenarioError> {
        let name = self.node(value, "node")?;
        if is(self.nodes, &name) {
            return Ok(name);
        }
        let span = value.as_ref().map_or(self.raw.action.span(), |v| v.span());
        let why = format!(
            "`{}` acts on {what}; `{name}` is not one",
            self.raw.action.get_ref()
        );
        Err(self.ctx.err(span, format!("{}.node", self.field), why))
    }

    /// The text of key `key`, which the action needs.
    fn text(&self, value: &Option<Spanned<String>>, key: &str) -> Result<String, ScenarioError> {
        value.as_ref().map(|v| v.get_ref().clone()).ok_or_else(|| {
            let why = format!("`{}` needs `{key}`", self.raw.action.get_ref());
            self.ctx
                .err(self.raw.action.span(), format!("{}.{key}", self.field), why)
        })
    }

    /// The `node` of an application action, which must be a consumer.
    fn consumer(&self, value: &Option<Spanned<String>>) -> Result<String, ScenarioError> {
        let name = self.node(value, "node")?;
        if self.nodes.is_consumer(&name) {
            return Ok(name);
        }
        let span = value.as_ref().map_or(self.raw.action.span(), |v| v.span());
        let why = format!(
            "`{}` acts on a consumer; `{name}` is not one",
            self.raw.action.get_ref()
        );
        Err(self.ctx.err(span, format!("{}.node", self.field), why))
    }
}

/// `[expect]`: checkers that must hold, and anomalies that must appear — never both.
pub(super) fn expectations(ctx: &Ctx<'_>, raw: &FileExpect) -> Result<Expectations, ScenarioError> {
    let mut expect = Expectations::default();
    for (list, out, key) in [
        (&raw.hold, &mut expect.hold, "hold"),
        (&raw.anomalies, &mut expect.anomalies, "anomalies"),
    ] {
        for (i, c) in list.iter().enumerate() {
            if !checkers::is_known(c.get_ref()) {
                let known: Vec<&str> = checkers::CHECKERS.iter().map(|c| c.name).collect();
                return Err(ctx.err(
                    c.span(),
                    format!("expect.{key}[{i}]"),
                    format!(
                        "unknown checker `{}` (checkers: {})",
                        c.get_ref(),
                        known.join(", ")
                    ),
                ));
            }
            out.push(c.get_ref().clone());
        }
    }
    if let Some(both) = expect.hold.iter().find(|c| expect.anomalies.contains(c)) {
        let span = raw
            .hold
            .iter()
            .find(|c| c.get_ref() == both)
            .map_or(0..0, |c| c.span());
        return Err(ctx.err(
            span,
            "expect",
            format!("`{both}` cannot both hold and appear"),
        ));
    }
    Ok(expect)
}
