//! Everything the process logs, captured for "never logged" assertions.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// The log filter of every suite: `debug` for our crates so "never logged" tests see as
/// much as an operator could.
const FILTER: &str = "info,control_api=debug,app_api=debug,tenancy_core=debug,apalis=info";

/// Installs the capture as the process's log writer (once; later calls do nothing).
pub(crate) fn init() {
    tenancy_core::observability::init_tracing(FILTER, LogCapture::global().clone());
}

/// Everything logged by the process since start. `TEST_LOG=1` also echoes it to stderr.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// The process-wide capture (the first call installs it as the writer).
    pub fn global() -> &'static LogCapture {
        static CAPTURE: OnceLock<LogCapture> = OnceLock::new();
        CAPTURE.get_or_init(LogCapture::default)
    }

    pub fn contents(&self) -> String {
        let buf = self.0.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&buf).into_owned()
    }
}

pub struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if std::env::var("TEST_LOG").is_ok_and(|v| v == "1") {
            let _ = std::io::stderr().write_all(buf);
        }
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = CaptureWriter;

    fn make_writer(&'a self) -> Self::Writer {
        CaptureWriter(self.0.clone())
    }
}
