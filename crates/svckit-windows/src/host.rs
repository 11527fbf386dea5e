//! The service host: svckit.exe registered as the service of a program that knows nothing of
//! the SCM (`svckit.exe host NAME`). The host answers the SCM and runs the program as its
//! child, in a Job object, with the definition's arguments, environment and working
//! directory, its stdout and stderr appended to log files; the program's end is the service's
//! (its exit code, other than 0, the service-specific one). A stop sends Ctrl-Break to the
//! program's console group, then ends the whole job after `stop.timeout`.

use std::{
    fs::{File, OpenOptions},
    path::Path,
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use svckit_core::{Accept, Context, Control, ExitCode, Service, ServiceSpec};

use crate::job::{self, Job};

/// How often the host looks at its program between controls.
const POLL: Duration = Duration::from_millis(100);

/// The service hosting `spec`'s program, its output appended to `NAME.stdout.log` and
/// `NAME.stderr.log` in `logs`.
pub fn service(spec: ServiceSpec, logs: &Path) -> Service {
    let logs = logs.to_owned();
    let stop_hint = spec.stop.timeout + Duration::from_secs(5);
    Service::new(spec.name.clone(), move |ctx| host(&ctx, &spec, &logs))
        .accept(Accept::STOP | Accept::SHUTDOWN)
        .stop_wait_hint(stop_hint)
}

/// The host's life: start the program in its job, report running, wait for its end or a
/// stop.
fn host(ctx: &Context, spec: &ServiceSpec, logs: &Path) -> ExitCode {
    let log = |stream: &str| -> std::io::Result<File> {
        std::fs::create_dir_all(logs)?;
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(logs.join(format!("{}.{stream}.log", spec.name)))
    };
    let (stdout, mut stderr) = match (log("stdout"), log("stderr")) {
        (Ok(out), Ok(err)) => (out, err),
        // Nowhere to say it but the exit code: ERROR_OPEN_FAILED.
        _ => return ExitCode::Win32(110),
    };
    let said = |stderr: &mut File, what: std::fmt::Arguments<'_>| {
        use std::io::Write;
        let _ = writeln!(stderr, "svckit host: {what}");
    };
    let job = match Job::new() {
        Ok(job) => job,
        Err(err) => {
            said(
                &mut stderr,
                format_args!("cannot create a job object: {err}"),
            );
            return ExitCode::ServiceSpecific(1);
        }
    };
    let mut command = Command::new(&spec.program);
    command
        .args(&spec.args)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(match stderr.try_clone() {
            Ok(file) => Stdio::from(file),
            Err(_) => Stdio::null(),
        });
    if let Some(dir) = &spec.working_dir {
        command.current_dir(dir);
    }
    let mut child = match job.spawn(&mut command) {
        Ok(child) => child,
        Err(err) => {
            said(
                &mut stderr,
                format_args!("cannot start {}: {err}", spec.program.display()),
            );
            return ExitCode::ServiceSpecific(2);
        }
    };
    ctx.ready();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            // What it started goes with it.
            let _ = job.terminate(1);
            return exit_code(status);
        }
        if let Some(Control::Stop | Control::Shutdown) = ctx.recv_timeout(POLL) {
            break;
        }
    }
    stop(ctx, spec, &job, &mut child);
    ExitCode::SUCCESS
}

/// Ctrl-Break to the program's console group, then, after the stop timeout (or at once
/// without a console to receive it), the whole job.
fn stop(ctx: &Context, spec: &ServiceSpec, job: &Job, child: &mut Child) {
    if job::interrupt(child).is_ok() {
        let deadline = Instant::now() + spec.stop.timeout;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            ctx.checkpoint(spec.stop.timeout);
            std::thread::sleep(POLL);
        }
    }
    let _ = job.terminate(1);
    let _ = child.wait();
}

/// The program's exit as the service's: 0 a clean stop, any other code the service's own.
fn exit_code(status: ExitStatus) -> ExitCode {
    match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::ServiceSpecific(code as u32),
        None => ExitCode::ServiceSpecific(1),
    }
}
