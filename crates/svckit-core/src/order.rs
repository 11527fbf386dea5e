//! The order services stop in: a service before what it depends on (the reverse of the start
//! order), so nothing loses a dependency while it runs. Pure: both platforms' managers give it
//! each installed service with what it is ordered after.

use crate::ServiceName;

/// `services` (each with the services it is ordered after) in stop order: repeatedly those
/// nothing left depends on, in the order given; a cycle (refused at install, but a definition
/// may predate the check) ends in the order given.
pub fn stop_order(services: Vec<(ServiceName, Vec<ServiceName>)>) -> Vec<ServiceName> {
    let mut left = services;
    let mut order = Vec::new();
    while !left.is_empty() {
        let free: Vec<usize> = (0..left.len())
            .filter(|&i| !left.iter().any(|(_, after)| after.contains(&left[i].0)))
            .collect();
        let take = if free.is_empty() { vec![0] } else { free };
        let taken: Vec<ServiceName> = take.iter().map(|&i| left[i].0.clone()).collect();
        left.retain(|(name, _)| !taken.contains(name));
        order.extend(taken);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn name(text: &str) -> ServiceName {
        ServiceName::new(text).unwrap()
    }

    #[test]
    fn dependents_stop_before_their_dependencies_and_a_cycle_still_ends() {
        let services = vec![
            (name("db"), vec![]),
            (name("api"), vec![name("db"), name("cache")]),
            (name("cache"), vec![]),
            (name("web"), vec![name("api")]),
        ];
        let order: Vec<String> = stop_order(services)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(order, ["web", "api", "db", "cache"]);
        let cycle = vec![(name("a"), vec![name("b")]), (name("b"), vec![name("a")])];
        assert_eq!(stop_order(cycle).len(), 2);
    }

    proptest! {
        /// Every service once; without a cycle, each before everything it is ordered after.
        #[test]
        fn every_service_once_each_before_its_dependencies(
            edges in prop::collection::vec((0..8usize, 0..8usize), 0..20)
        ) {
            let names: Vec<ServiceName> = (0..8).map(|i| name(&format!("s{i}"))).collect();
            // Only edges to a lower number: no cycle.
            let services: Vec<(ServiceName, Vec<ServiceName>)> = (0..8)
                .map(|i| {
                    let after = edges
                        .iter()
                        .filter(|(from, to)| *from == i && to < from)
                        .map(|(_, to)| names[*to].clone())
                        .collect();
                    (names[i].clone(), after)
                })
                .collect();
            let order = stop_order(services.clone());
            prop_assert_eq!(order.len(), 8);
            let at = |name: &ServiceName| order.iter().position(|one| one == name).unwrap();
            for (service, after) in &services {
                for dependency in after {
                    prop_assert!(at(service) < at(dependency), "{service} after {dependency}");
                }
            }
        }
    }
}
