// Package portstest holds the contract suites for the ports in backup/ports: one
// importable suite per port (RunRepositoryTests, RunObjectStoreTests, …) that any
// implementation — the adapters in this module, the in-memory reference in
// adapters/local, or a host platform's own — runs from its tests to show it keeps
// the semantics the port documents, the way gocloud.dev's drivertest checks every
// blob driver.
//
// Each suite takes a harness whose New returns a fresh instance for one subtest.
// Where a suite relies on behaviour the port's doc comments leave open, its
// documentation says so.
package portstest
