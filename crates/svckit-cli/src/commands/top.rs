//! `svckit top`: the services on one screen (ratatui over crossterm, on both platforms): a
//! table with each one's state, CPU% and memory, the selected service's last lines below it,
//! and keys that start, stop, restart or reload it. The terminal is given back as found on
//! every way out: a key, SIGTERM or SIGHUP (Unix), an error, a panic (ratatui's hook).

use std::{
    collections::HashMap,
    io::IsTerminal,
    time::{Duration, Instant, SystemTime},
};

use ratatui::{
    DefaultTerminal, Frame,
    crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers},
    layout::{Constraint, Layout},
    style::{Modifier, Style},
    text::Line,
    widgets::{Block, Cell, Paragraph, Row, Table, TableState},
};
use svckit::{
    ServiceName,
    logfiles::{Stream, timeline},
};
use svckit_install::{Action, Listed, Manager};

use crate::{
    cli::TopArgs,
    exit::{Exit, Failure},
};

/// The longest wait between two frames while nothing else is due (a key, a resize or a
/// signal wakes it at once).
const KEY_WAIT: Duration = Duration::from_millis(250);

/// `svckit top`.
pub fn run(args: TopArgs) -> anyhow::Result<Exit> {
    if !std::io::stdout().is_terminal() {
        return Err(Failure::new(
            Exit::Usage,
            "top draws on a terminal (into a pipe: svckit status --watch)",
        )
        .into());
    }
    let manager = super::manager(&args.state)?;
    // SIGTERM and SIGHUP are read, not delivered, so that they end it through the way that
    // gives the terminal back; so does a terminal that hung up (crossterm reads a hung-up
    // terminal forever, whatever its timeout). SIGWINCH is read here too: crossterm's own
    // handler would make it drop the keys that came with a resize (its epoll is
    // edge-triggered, and a resize ends its read of a batch).
    #[cfg(unix)]
    let mut signals = svckit_unix::signals::SignalWaiter::new(&[
        svckit::Signal::Term,
        svckit::Signal::Hup,
        svckit::Signal::Winch,
    ])?;
    #[cfg(unix)]
    let mut wait = move |timeout: Duration| -> anyhow::Result<Waited> {
        use std::os::fd::AsFd;
        use svckit_unix::signals::Wake;
        let stdin = std::io::stdin();
        Ok(
            match signals.wait_or_readable(stdin.as_fd(), Some(timeout))? {
                Wake::Signal(svckit::Signal::Winch) => Waited::Resized,
                Wake::Signal(_) => Waited::Ended,
                Wake::Readable if svckit_unix::process::terminal_hung_up() => Waited::Ended,
                Wake::Readable => Waited::Input,
                Wake::Timeout => Waited::Timeout,
            },
        )
    };
    #[cfg(windows)]
    let mut wait = |timeout: Duration| -> anyhow::Result<Waited> {
        Ok(match event::poll(timeout)? {
            true => Waited::Input,
            false => Waited::Timeout,
        })
    };
    let mut terminal = ratatui::init();
    let result = Top::new(manager, args.interval).run(&mut terminal, &mut wait);
    ratatui::restore();
    result.map(|()| Exit::Ok)
}

/// What a wait for the next key came to.
enum Waited {
    /// The terminal has input.
    Input,
    /// The terminal was resized: drawn again at its size. (On Windows crossterm tells it
    /// among the keys.)
    #[cfg_attr(windows, allow(dead_code))]
    Resized,
    /// The time ran out.
    Timeout,
    /// SIGTERM, SIGHUP, or the terminal hung up: it ends. (A Windows console has none.)
    #[cfg_attr(windows, allow(dead_code))]
    Ended,
}

/// What `top` shows, and what it keeps between frames.
struct Top {
    manager: Manager,
    interval: Duration,
    listed: Vec<Listed>,
    selected: TableState,
    /// Each service's CPU time when last read, and when: its CPU% is the difference.
    cpu: HashMap<ServiceName, (Duration, SystemTime)>,
    percent: HashMap<ServiceName, f64>,
    /// What the last key did (or why it could not).
    said: String,
    /// The selected service's last lines.
    lines: Vec<String>,
}

impl Top {
    fn new(manager: Manager, interval: Duration) -> Top {
        Top {
            manager,
            interval,
            listed: Vec::new(),
            selected: TableState::default().with_selected(Some(0)),
            cpu: HashMap::new(),
            percent: HashMap::new(),
            said: "↑/↓ select · s start · x stop · r restart · l reload · q quit".to_owned(),
            lines: Vec::new(),
        }
    }

    fn run(
        &mut self,
        terminal: &mut DefaultTerminal,
        wait: &mut dyn FnMut(Duration) -> anyhow::Result<Waited>,
    ) -> anyhow::Result<()> {
        let mut next = Instant::now();
        loop {
            if Instant::now() >= next {
                self.read();
                next = Instant::now() + self.interval;
            }
            terminal.draw(|frame| self.draw(frame))?;
            let timeout = next.saturating_duration_since(Instant::now()).min(KEY_WAIT);
            match wait(timeout)? {
                Waited::Ended => return Ok(()),
                Waited::Resized | Waited::Timeout => continue,
                Waited::Input => {}
            }
            // Every event the terminal has now (crossterm may take several at once).
            while event::poll(Duration::ZERO)? {
                let Event::Key(key) = event::read()? else {
                    continue;
                };
                if key.kind != KeyEventKind::Press {
                    continue;
                }
                let control = key.modifiers.contains(KeyModifiers::CONTROL);
                match key.code {
                    KeyCode::Char('q') | KeyCode::Esc => return Ok(()),
                    KeyCode::Char('c') if control => return Ok(()),
                    KeyCode::Down | KeyCode::Char('j') => self.select(1),
                    KeyCode::Up | KeyCode::Char('k') => self.select(-1),
                    KeyCode::Char('s') => self.act(Action::Start),
                    KeyCode::Char('x') => self.act(Action::Stop),
                    KeyCode::Char('r') => self.act(Action::Restart),
                    KeyCode::Char('l') => self.act(Action::Reload),
                    _ => continue,
                }
                // What the key changed is read at once.
                next = Instant::now();
            }
        }
    }

    /// The statuses, CPU% since the last read, and the selected service's last lines.
    fn read(&mut self) {
        match self.manager.statuses() {
            Ok(listed) => self.listed = listed,
            Err(err) => self.said = format!("svckit: error: {err:#}"),
        }
        let now = SystemTime::now();
        for one in &self.listed {
            let Some(status) = one.status.as_ref().ok() else {
                continue;
            };
            let Some(cpu) = status.cpu else {
                self.cpu.remove(&one.name);
                self.percent.remove(&one.name);
                continue;
            };
            // The time of the reading, where the manager says (the supervisor's may be up to
            // two seconds old): the same reading again changes nothing.
            let read = status.usage_read.unwrap_or(now);
            match self.cpu.get(&one.name).copied() {
                Some((_, at)) if read <= at => {}
                Some((before, at)) => {
                    let elapsed = read.duration_since(at).unwrap_or_default().as_secs_f64();
                    let used = cpu.saturating_sub(before).as_secs_f64();
                    self.percent
                        .insert(one.name.clone(), used / elapsed * 100.0);
                    self.cpu.insert(one.name.clone(), (cpu, read));
                }
                None => {
                    self.cpu.insert(one.name.clone(), (cpu, read));
                }
            }
        }
        let last = self.listed.len().saturating_sub(1);
        if self.selected.selected().is_some_and(|at| at > last) {
            self.selected.select(Some(last));
        }
        self.lines = self
            .selected_name()
            .map_or_else(Vec::new, |name| self.last_lines(&name));
    }

    fn selected_name(&self) -> Option<ServiceName> {
        let at = self.selected.selected()?;
        self.listed.get(at).map(|one| one.name.clone())
    }

    fn select(&mut self, by: isize) {
        if self.listed.is_empty() {
            return;
        }
        let at = self.selected.selected().unwrap_or(0) as isize + by;
        let at = at.clamp(0, self.listed.len() as isize - 1) as usize;
        self.selected.select(Some(at));
    }

    /// Carries out `action` on the selected service, saying what came of it.
    fn act(&mut self, action: Action) {
        let Some(name) = self.selected_name() else {
            return;
        };
        let timeout = Duration::from_secs(30);
        self.said = match self.manager.perform(action, &name, timeout, false) {
            Ok(status) => super::report::outcome(action, &status),
            Err(err) => format!("svckit: error: {err:#}"),
        };
    }

    /// The service's last lines (its output and its events), as `svckit logs` shows them.
    fn last_lines(&self, name: &ServiceName) -> Vec<String> {
        let Some(sources) = self
            .manager
            .logs(name)
            .ok()
            .and_then(|logs| super::logs::captured_sources(name, &logs, None))
        else {
            return vec![format!("{name}'s output is not svckit's to show here")];
        };
        timeline::read(&sources, &self.manager.event_logs(), Some(200), None)
            .into_iter()
            .map(|entry| {
                let at = std::time::UNIX_EPOCH + Duration::from_millis(entry.ms);
                let time = chrono::DateTime::<chrono::Local>::from(at).format("%H:%M:%S");
                let line = super::paint::visible(&entry.line).into_owned();
                match entry.origin {
                    timeline::Origin::Event => format!("{time} -- {line} --"),
                    timeline::Origin::Output(Stream::Stdout) => format!("{time} [out] {line}"),
                    timeline::Origin::Output(Stream::Stderr) => format!("{time} [err] {line}"),
                }
            })
            .collect()
    }

    fn draw(&mut self, frame: &mut Frame<'_>) {
        let [table_area, said_area, logs_area] = Layout::vertical([
            Constraint::Percentage(50),
            Constraint::Length(1),
            Constraint::Fill(1),
        ])
        .areas(frame.area());
        let dash = || "-".to_owned();
        let rows = self.listed.iter().map(|one| {
            let cells = match &one.status {
                Ok(status) => [
                    one.name.to_string(),
                    status.state_name(),
                    status.pid.map_or_else(dash, |pid| pid.to_string()),
                    self.percent
                        .get(&one.name)
                        .map_or_else(dash, |percent| format!("{percent:.1}")),
                    status.memory.map_or_else(dash, svckit::parse::human_size),
                    status
                        .uptime
                        .map_or_else(dash, svckit::parse::short_duration),
                    status.restarts.map_or_else(dash, |n| n.to_string()),
                ],
                Err(err) => [
                    one.name.to_string(),
                    format!("unknown ({err})"),
                    dash(),
                    dash(),
                    dash(),
                    dash(),
                    dash(),
                ],
            };
            Row::new(cells.map(Cell::from))
        });
        let widths = [
            Constraint::Fill(2),
            Constraint::Length(10),
            Constraint::Length(8),
            Constraint::Length(6),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Length(8),
        ];
        let header = Row::new(["NAME", "STATE", "PID", "CPU%", "MEM", "UPTIME", "RESTARTS"])
            .style(Style::new().add_modifier(Modifier::BOLD));
        let title = format!(
            " svckit top · every {} ",
            svckit::parse::format_duration(self.interval)
        );
        let table = Table::new(rows, widths)
            .header(header)
            .block(Block::bordered().title(title))
            .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED));
        frame.render_stateful_widget(table, table_area, &mut self.selected);
        frame.render_widget(Line::from(self.said.as_str()), said_area);
        let name = self
            .selected_name()
            .map_or_else(String::new, |name| name.to_string());
        // The last lines that fit, the newest at the bottom.
        let fit = logs_area.height.saturating_sub(2) as usize;
        let shown: Vec<Line<'_>> = self.lines[self.lines.len().saturating_sub(fit)..]
            .iter()
            .map(|line| Line::from(line.as_str()))
            .collect();
        let logs = Paragraph::new(shown).block(Block::bordered().title(format!(" {name} ")));
        frame.render_widget(logs, logs_area);
    }
}
