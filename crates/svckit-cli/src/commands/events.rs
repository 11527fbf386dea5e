//! `svckit events [NAME]`: what happened to the services (or to one), from their event logs —
//! the supervisor's on Unix, each hosted program's on Windows, in the lifecycle machine's words
//! on both; `-f` keeps printing new events, of services installed meanwhile too.

use std::io::{self, Write};

use svckit::ServiceName;
use svckit::journal;

use super::paint::visible;
use crate::{cli::EventsArgs, exit::Exit};

/// `svckit events`.
pub fn run(args: EventsArgs) -> anyhow::Result<Exit> {
    let manager = super::manager(&args.state)?;
    let only = args.name.as_deref().map(ServiceName::new).transpose()?;
    let mut out = io::stdout().lock();
    if !args.follow {
        for line in journal::recent(&manager.event_logs(), only.as_ref(), args.lines) {
            writeln!(out, "{}", visible(&line))?;
        }
    } else {
        let mut escaped = Escaped {
            pending: Vec::new(),
            out,
        };
        let followed = journal::follow(
            || manager.event_logs(),
            only.as_ref(),
            args.lines,
            &mut escaped,
            || false,
            svckit_install::file_identity,
        );
        match followed {
            // Its reader went away (`| head`): done.
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {}
            other => other?,
        }
    }
    Ok(Exit::Ok)
}

/// Passes on whole lines, control characters written out (a service's words are its own).
struct Escaped<W> {
    pending: Vec<u8>,
    out: W,
}

impl<W: Write> Write for Escaped<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(bytes);
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            writeln!(
                self.out,
                "{}",
                visible(&String::from_utf8_lossy(&line[..end]))
            )?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
