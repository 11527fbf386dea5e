//! The service API from async code: a service whose code runs a tokio runtime and waits for
//! controls with `recv_async`, driven through the same `Controller` every platform runtime uses.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use svckit::{
    Accept, Control, ExitCode, Service, ServiceName, State,
    service::{ServiceStatus, StatusSink},
};

#[derive(Clone, Default)]
struct States(Arc<Mutex<Vec<State>>>);

impl StatusSink for States {
    fn report(&self, status: &ServiceStatus) {
        self.0.lock().unwrap().push(status.state);
    }
}

impl States {
    fn wait_for(&self, state: State) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while self.0.lock().unwrap().last() != Some(&state) {
            assert!(
                std::time::Instant::now() < deadline,
                "never {state}: {:?}",
                self.0
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

#[test]
fn a_tokio_service_pauses_continues_and_stops_with_its_exit_code() {
    let states = States::default();
    let name = ServiceName::new("async").unwrap();
    let service = Service::new(name.clone(), |ctx| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let mut ticks = tokio::time::interval(Duration::from_millis(10));
            ctx.ready();
            let mut worked = 0u32;
            loop {
                tokio::select! {
                    _ = ticks.tick() => worked += 1,
                    control = ctx.recv_async() => match control {
                        Some(Control::Pause) => ctx.paused(),
                        Some(Control::Continue) => ctx.ready(),
                        Some(Control::Stop) | None => break,
                        Some(_) => {}
                    },
                }
            }
            assert!(worked > 0);
            ExitCode::ServiceSpecific(7)
        })
    })
    .accept(Accept::STOP | Accept::PAUSE_CONTINUE);
    let launch = service.launch(name, Box::new(states.clone()));
    let controller = launch.controller.clone();
    let code = std::thread::spawn(move || launch.run());

    states.wait_for(State::Running);
    controller.deliver(Control::Pause).unwrap();
    states.wait_for(State::Paused);
    controller.deliver(Control::Continue).unwrap();
    states.wait_for(State::Running);
    controller.deliver(Control::Stop).unwrap();
    assert_eq!(code.join().unwrap(), ExitCode::ServiceSpecific(7));
    assert_eq!(
        *states.0.lock().unwrap(),
        [
            State::StartPending,
            State::Running,
            State::PausePending,
            State::Paused,
            State::ContinuePending,
            State::Running,
            State::StopPending,
            State::Stopped
        ]
    );
}
