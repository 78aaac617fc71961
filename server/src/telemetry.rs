//! Logs with tracing on stderr (README, "Operating"): text, coloured only on a terminal, or
//! JSON, one object per line with the fields of the event and of every span it is in (a
//! call's `method`, `request_id` and `principal`: see `api::calls`). `RUST_LOG` overrides
//! the default filter.

use std::fmt::Write as _;
use std::io::IsTerminal;

use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, fmt};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Lines for people: time, level, spans with their fields, target, message, fields.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The keys every JSON line starts with; a field of the same name (ListRegions' `level`) is
/// written as `field.NAME`.
const RESERVED: [&str; 3] = ["timestamp", "level", "target"];

/// Installs the global subscriber, writing to stderr in `format`. Calling it again is
/// harmless.
pub fn init(default_filter: &str, format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(colour()).try_init(),
        LogFormat::Json => builder
            .with_ansi(false)
            .fmt_fields(JsonFields::new())
            .event_format(FlatJson)
            .try_init(),
    };
}

/// Colour only on a terminal, and not when `NO_COLOR` is set (no-color.org).
fn colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The JSON lines: `timestamp` (RFC 3339, UTC), `level`, `target`, then the fields of the
/// spans the event is in, outermost first, then the event's own (`message` among them); a
/// later field replaces an earlier one of the same name.
struct FlatJson;

impl<S, N> FormatEvent<S, N> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut fields = Fields::default();
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                // The span's fields as the JsonFields formatter keeps them: a JSON object.
                let Some(formatted) = extensions.get::<FormattedFields<N>>() else {
                    continue;
                };
                if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(formatted) {
                    for (name, value) in map {
                        fields.set(name, value);
                    }
                }
            }
        }
        event.record(&mut fields);
        let metadata = event.metadata();
        let mut line = String::with_capacity(256);
        let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        line.push('{');
        for (name, value) in [
            ("timestamp", time.as_str()),
            ("level", metadata.level().as_str()),
            ("target", metadata.target()),
        ] {
            push_pair(&mut line, name, &Value::from(value));
        }
        for (name, value) in &fields.0 {
            if RESERVED.contains(&name.as_str()) {
                push_pair(&mut line, &format!("field.{name}"), value);
            } else {
                push_pair(&mut line, name, value);
            }
        }
        line.push('}');
        writeln!(writer, "{line}")
    }
}

/// Appends `"name":value` to an object being written.
fn push_pair(line: &mut String, name: &str, value: &Value) {
    if !line.ends_with('{') {
        line.push(',');
    }
    let _ = write!(line, "{}:{value}", Value::from(name));
}

/// Fields in the order first set; setting one again replaces its value.
#[derive(Default)]
struct Fields(Vec<(String, Value)>);

impl Fields {
    fn set(&mut self, name: String, value: Value) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.set(field.name().to_owned(), Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.set(field.name().to_owned(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.set(field.name().to_owned(), Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.set(field.name().to_owned(), Value::from(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field.name().to_owned(), Value::from(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.set(field.name().to_owned(), Value::from(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.set(field.name().to_owned(), Value::from(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// What the subscriber writes, kept.
    #[derive(Clone, Default)]
    struct Kept(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Kept {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("the buffer").extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn json_lines_carry_the_fields_of_their_spans_after_their_own_three() {
        let kept = Kept::default();
        let writer = kept.clone();
        let subscriber = fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .fmt_fields(JsonFields::new())
            .event_format(FlatJson)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let call = tracing::info_span!(
                "call",
                method = "/procura.v1.RegionService/ListRegions",
                request_id = "r-1",
                principal = tracing::field::Empty
            );
            let _call = call.enter();
            call.record("principal", "admin");
            let handler = tracing::info_span!("list_regions", level = 2);
            let _handler = handler.enter();
            tracing::info!(code = "OK", duration_ms = 0.5, "call finished");
        });
        let text = String::from_utf8(kept.0.lock().expect("the buffer").clone()).expect("UTF-8");
        assert_eq!(text.lines().count(), 1, "{text}");
        let line: serde_json::Map<String, Value> = serde_json::from_str(&text).expect("JSON");
        let keys: Vec<&str> = line.keys().map(String::as_str).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        let mut expected = vec![
            "timestamp",
            "level",
            "target",
            "method",
            "principal",
            "request_id",
            "field.level",
            "message",
            "code",
            "duration_ms",
        ];
        expected.sort_unstable();
        assert_eq!(sorted, expected, "{text}");
        assert!(
            text.starts_with(r#"{"timestamp":""#)
                && text
                    .contains(r#"Z","level":"INFO","target":"procura_server::telemetry::tests","#),
            "{text}"
        );
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["field.level"], 2);
        assert_eq!(line["principal"], "admin");
        assert_eq!(line["request_id"], "r-1");
        assert_eq!(line["message"], "call finished");
        assert_eq!(line["duration_ms"], 0.5);
    }
}
