package esp

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// A fresh SA holds no cipher state, sequence counter or replay window; Seal
// creates the first two, Open the cipher state and, once a packet is
// authentic, the window. Sending never creates a window, receiving never a
// counter.
func TestLazyParts(t *testing.T) {
	for _, su := range suites {
		t.Run(su.name, func(t *testing.T) {
			tx, rx := su.pair(t, false)
			for _, s := range []*SA{tx, rx} {
				_, _, _, _ = s.String(), s.SealedLen(100), s.Overhead(), s.HeaderLen()
				if s.Stats() != (Stats{}) {
					t.Fatalf("fresh SA has stats %+v", s.Stats())
				}
				if s.cipher.Load() != nil || s.seq.Load() != nil || s.replay.Load() != nil {
					t.Fatal("New or a query built per-packet state")
				}
			}
			pkt, err := tx.Seal(nil, ipv4Packet(60), NextHeaderIPv4)
			if err != nil {
				t.Fatal(err)
			}
			if tx.cipher.Load() == nil || tx.seq.Load() == nil {
				t.Fatal("Seal did not keep its cipher state and counter")
			}
			if tx.replay.Load() != nil {
				t.Fatal("Seal created a replay window")
			}

			forged := bytes.Clone(pkt)
			forged[len(forged)-1] ^= 1
			if _, _, err := rx.Open(nil, forged); !errors.Is(err, ErrAuth) {
				t.Fatalf("forged packet: %v, want ErrAuth", err)
			}
			if rx.replay.Load() != nil {
				t.Fatal("a forged packet created the replay window")
			}
			if _, _, err := rx.Open(nil, pkt); err != nil {
				t.Fatal(err)
			}
			w := rx.replay.Load()
			if w == nil || w.Size() != 4096 || w.Top() != 1 {
				t.Fatalf("window after the first packet: %v", w)
			}
			if rx.seq.Load() != nil {
				t.Fatal("Open created a sequence counter")
			}
			if _, _, err := rx.Open(nil, pkt); !errors.Is(err, ErrReplay) {
				t.Fatalf("replayed first packet: %v, want ErrReplay", err)
			}
		})
	}
}

// twin returns an SA with s's configuration and keys (the CBC IV key
// included) whose cipher state is built before it is returned, as New used
// to do: what it seals is what s must seal for the same sequence number.
func twin(t testing.TB, su suite, s *SA) *SA {
	t.Helper()
	ref, err := New(su.config(s.spi, s.esn))
	if err != nil {
		t.Fatal(err)
	}
	copy(ref.keyMaterial(), s.keyMaterial())
	ref.state()
	return ref
}

// Goroutines racing to build the state of a fresh SA all get the same one,
// the one installed.
func TestLazyStateRace(t *testing.T) {
	const goroutines, rounds = 8, 50
	for _, su := range suites {
		t.Run(su.name, func(t *testing.T) {
			for range rounds {
				s, _ := su.pair(t, false)
				got := make([]*cipherState, goroutines)
				start := make(chan struct{})
				var wg sync.WaitGroup
				for g := range goroutines {
					wg.Go(func() {
						<-start
						got[g] = s.state()
					})
				}
				close(start)
				wg.Wait()
				for g, st := range got {
					if st == nil || st != s.cipher.Load() {
						t.Fatalf("goroutine %d got state %p, installed %p", g, st, s.cipher.Load())
					}
				}
			}
		})
	}
}

// Many goroutines seal on a fresh SA while many others open the packets on
// another fresh SA: every packet is byte for byte what an SA whose state was
// built beforehand seals for its sequence number, and is accepted once.
func TestLazyFirstPacketsRace(t *testing.T) {
	const sealers, openers, per = 8, 8, 20
	for _, su := range suites {
		for _, esn := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/esn=%t", su.name, esn), func(t *testing.T) {
				tx, rx := su.pair(t, esn)
				ref := twin(t, su, tx)
				inner := ipv4Packet(77)
				pkts := make(chan []byte, sealers*per)
				start := make(chan struct{})
				var sealWG, openWG sync.WaitGroup
				for range sealers {
					sealWG.Go(func() {
						<-start
						for range per {
							p, err := tx.Seal(nil, inner, NextHeaderIPv4)
							if err != nil {
								t.Error(err)
								return
							}
							pkts <- p
						}
					})
				}
				var mu sync.Mutex
				var sealed [][]byte
				for range openers {
					openWG.Go(func() {
						<-start
						for p := range pkts {
							got, nh, err := rx.Open(nil, p)
							if err != nil || nh != NextHeaderIPv4 || !bytes.Equal(got, inner) {
								t.Errorf("Open: %v", err)
							}
							mu.Lock()
							sealed = append(sealed, p)
							mu.Unlock()
						}
					})
				}
				close(start)
				sealWG.Wait()
				close(pkts)
				openWG.Wait()
				if len(sealed) != sealers*per {
					t.Fatalf("%d packets, want %d", len(sealed), sealers*per)
				}
				seen := make(map[uint32]bool)
				for _, p := range sealed {
					seq, _ := SeqOf(p)
					if seen[seq] {
						t.Fatalf("sequence number %d used twice", seq)
					}
					seen[seq] = true
					if want := ref.seal(nil, inner, NextHeaderIPv4, uint64(seq), nil); !bytes.Equal(p, want) {
						t.Fatalf("packet %d differs from the eagerly built SA's\n got %x\nwant %x", seq, p, want)
					}
					if _, _, err := rx.Open(nil, p); !errors.Is(err, ErrReplay) {
						t.Fatalf("packet %d accepted twice: %v", seq, err)
					}
				}
			})
		}
	}
}

// Release drops the cipher state; the next packet rebuilds an equivalent one,
// while the sequence counter and replay window carry on. Releasing while
// other goroutines seal and open loses no packet.
func TestRelease(t *testing.T) {
	for _, su := range suites {
		t.Run(su.name, func(t *testing.T) {
			tx, rx := su.pair(t, true)
			ref := twin(t, su, tx)
			inner := ipv6Packet(90)
			roundTrip := func() {
				t.Helper()
				p, err := tx.Seal(nil, inner, NextHeaderIPv6)
				if err != nil {
					t.Fatal(err)
				}
				seq := tx.Stats().LastSeq
				if want := ref.seal(nil, inner, NextHeaderIPv6, seq, nil); !bytes.Equal(p, want) {
					t.Fatalf("packet %d differs from the eagerly built SA's", seq)
				}
				if _, _, err := rx.Open(nil, p); err != nil {
					t.Fatal(err)
				}
			}
			roundTrip()
			before := tx.cipher.Load()
			tx.Release()
			rx.Release()
			if tx.cipher.Load() != nil || rx.cipher.Load() != nil {
				t.Fatal("Release kept the state")
			}
			roundTrip()
			if tx.cipher.Load() == before {
				t.Fatal("state not rebuilt")
			}
			if got := tx.Stats(); got.LastSeq != 2 {
				t.Fatalf("sequence counter after Release: %d, want 2", got.LastSeq)
			}
			if got := rx.Stats(); got.ReplayTop != 2 {
				t.Fatalf("replay window after Release: top %d, want 2", got.ReplayTop)
			}

			const workers, per = 4, 50
			stop := make(chan struct{})
			var releaser sync.WaitGroup
			releaser.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
						tx.Release()
						rx.Release()
					}
				}
			})
			var wg sync.WaitGroup
			for range workers {
				wg.Go(func() {
					for range per {
						p, err := tx.Seal(nil, inner, NextHeaderIPv6)
						if err != nil {
							t.Error(err)
							return
						}
						if got, _, err := rx.Open(nil, p); err != nil || !bytes.Equal(got, inner) {
							t.Errorf("Open during Release: %v", err)
							return
						}
					}
				})
			}
			wg.Wait()
			close(stop)
			releaser.Wait()
			if got := rx.Stats().ReplayTop; got != 2+workers*per {
				t.Fatalf("ReplayTop %d, want %d", got, 2+workers*per)
			}
		})
	}
}
