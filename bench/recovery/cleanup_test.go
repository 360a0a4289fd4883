package main

import (
	"sync"
	"testing"
	"testing/synctest"
)

func TestCleanupConcurrentRunWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &cleanup{}
		var mu sync.Mutex
		var ran []string
		note := func(s string) { mu.Lock(); ran = append(ran, s); mu.Unlock() }
		started, release := make(chan struct{}), make(chan struct{})
		c.push("first", func() error { note("first"); return nil })
		c.push("slow", func() error { close(started); <-release; note("slow"); return nil })
		done1, done2 := make(chan struct{}), make(chan struct{})
		go func() { c.run(); close(done1) }()
		<-started
		go func() { c.run(); close(done2) }()
		synctest.Wait() // the second run took "first" and now waits for "slow"
		select {
		case <-done2:
			t.Fatal("second run returned while a cleanup function was still running")
		default:
		}
		close(release)
		<-done1
		<-done2
		if len(ran) != 2 {
			t.Errorf("ran %v, want each function once", ran)
		}
		c.push("late", func() error { note("late"); return nil })
		c.run()
		if len(ran) != 3 {
			t.Errorf("ran %v after a later push", ran)
		}
	})
}
