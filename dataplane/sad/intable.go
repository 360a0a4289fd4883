package sad

import "sync/atomic"

// inShards is the number of copy-on-write maps the inbound SAs are spread over.
const inShards = 8192

// inTable maps SPI to inbound SA. It is read on every received ESP packet and written only
// when the control plane installs or removes an SA, so each shard is an immutable map replaced
// copy-on-write: a lookup is one atomic load plus one map probe, with no lock and no contention
// between workers. Sharding keeps a write's copy at 1/8192 of the table (about 12 entries with
// 100,000 tunnels) instead of all of it: with 1,024 shards the copies were a twentieth of all
// the memory a mass set-up of 100,000 tunnels allocated. The empty shards cost ~400 KB.
// (sync.Map would also be lock-free for reads but boxes keys and values and is slower for
// this read-mostly pattern.) Writers hold DB.mu.
type inTable struct {
	shards [inShards]atomic.Pointer[map[uint32]*InSA]
}

func inShard(spi uint32) uint32 { return (spi ^ spi>>10 ^ spi>>20 ^ spi>>30) & (inShards - 1) }

func (t *inTable) init() {
	for i := range t.shards {
		t.shards[i].Store(&map[uint32]*InSA{})
	}
}

func (t *inTable) get(spi uint32) *InSA { return (*t.shards[inShard(spi)].Load())[spi] }

// put installs sa under spi (DB.mu held).
func (t *inTable) put(spi uint32, sa *InSA) {
	s := &t.shards[inShard(spi)]
	old := *s.Load()
	m := make(map[uint32]*InSA, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[spi] = sa
	s.Store(&m)
}

// del removes spi (DB.mu held).
func (t *inTable) del(spi uint32) {
	s := &t.shards[inShard(spi)]
	old := *s.Load()
	m := make(map[uint32]*InSA, len(old))
	for k, v := range old {
		if k != spi {
			m[k] = v
		}
	}
	s.Store(&m)
}

// each calls f for every inbound SA (a consistent view per shard).
func (t *inTable) each(f func(*InSA)) {
	for i := range t.shards {
		for _, sa := range *t.shards[i].Load() {
			f(sa)
		}
	}
}
