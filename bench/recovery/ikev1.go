package main

// IKEv1 scenarios go here: append their lines to ikev1Scenarios (printed after the IKEv2
// lines, in this order) and any strongSwan<->strongSwan baselines they need to ikev1Baselines
// (scenarios naming the same baseline key share its runs). A scenario's run function gets a
// fresh topology (r.topo) and must bring the tunnel up, start the probes with r.startProbes,
// take the fault time, inject the fault and return r.measure(probes, fault, probes.Arrived()).
var (
	ikev1Scenarios []scenario
	ikev1Baselines []baseline
)
