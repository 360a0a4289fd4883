package main

// The IKEv1 lines (Main Mode + Quick Mode, tunnel option version = 1): the IKEv2 scenarios
// and baselines of scenarios.go run with ikev1, which gives both daemons IKE proposal
// ikeProposalV1 (phase 1 has no AEAD; ESP stays aes128gcm16) and makes strongSwan's silent
// Child SA loss drop its IKEv1 Delete instead of its IKEv2 INFORMATIONAL (see dropDeletes).
// They are printed after the IKEv2 lines, in this order; scenarios naming the same baseline
// key share its runs.
var (
	ikev1Scenarios = []scenario{
		{"silent-child-loss-v1-vigil", "silent-child-loss-v1", "vigil<->vigil", at(ikev1, silentChildLossVigil), "swan-silent-child-loss-v1", false},
		{"silent-child-loss-v1-swan", "silent-child-loss-v1", "vigil<->strongswan", at(ikev1, silentChildLossSwanPeer), "swan-silent-child-loss-v1", false},
		{"peer-restart-v1-vigil", "peer-restart-v1", "vigil<->vigil", at(ikev1, peerRestartVigil), "swan-restart-initiating-v1", false},
		{"peer-restart-v1-swan", "peer-restart-v1", "vigil<->strongswan", at(ikev1, peerRestartSwanPeer), "swan-restart-waiting-v1", false},
	}
	ikev1Baselines = []baseline{
		{"swan-silent-child-loss-v1", "strongswan<->strongswan", at(ikev1, swanSilentChildLoss)},
		{"swan-restart-initiating-v1", "strongswan<->strongswan", at(ikev1, swanRestartInitiating)},
		{"swan-restart-waiting-v1", "strongswan<->strongswan", at(ikev1, swanRestartWaiting)},
	}
)
