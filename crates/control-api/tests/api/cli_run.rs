//! Runs the real `control-api` binary as an operator would: the deployment's environment
//! only, from a neutral directory, with the given standard input.

use platform_harness::Platform;
use std::io::Write;
use std::process::{Command, Output, Stdio};

pub fn control_api(p: &Platform, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_control-api"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(&p.env)
        .env("RUST_LOG", "warn")
        .current_dir(std::env::temp_dir())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("control-api runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}
