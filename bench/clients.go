package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cloudmeter/cloudmeter/demo"
)

// Scale is one shape of concurrent ingest: Clients HTTP clients spread over Instances
// servers on one database.
type Scale struct {
	Instances, Clients int
}

func (s Scale) String() string {
	return fmt.Sprintf("%d client(s), %d instance(s)", s.Clients, s.Instances)
}

// ScaleResult is the ingest measured at one Scale, once per round.
type ScaleResult struct {
	Scale
	Runs []IngestResult
}

// PerSecond is the median ingest rate of the rounds, in events per second.
func (r ScaleResult) PerSecond() float64 {
	xs := make([]float64, len(r.Runs))
	for i, x := range r.Runs {
		xs[i] = x.PerSecond()
	}
	return MedianFloat(xs)
}

// PerCPUSecond is the median of the rounds in events per CPU-second of this process
// (the servers and the clients; not the database server).
func (r ScaleResult) PerCPUSecond() float64 {
	xs := make([]float64, len(r.Runs))
	for i, x := range r.Runs {
		xs[i] = x.PerCPUSecond()
	}
	return MedianFloat(xs)
}

// Round returns the ingest rate of round i (events per second).
func (r ScaleResult) Round(i int) float64 { return r.Runs[i].PerSecond() }

// IngestScaling measures the ingest of batches on the PostgreSQL server at serverURL
// (whose user may create databases) at each of scales, rounds times. A round measures
// every scale once, each on a fresh database that FreshDatabase creates and that is
// dropped afterwards, round 1 in the order given and each next round beginning one
// scale further on: the scales of one round run minutes apart at most, so a machine
// whose speed drifts (other work starting or ending) weighs on all of them alike, and
// the ratios of one round mean more than any figure alone. tmp holds the
// servers' data directories. progress, when set, is called before each measurement
// and returns what is called with the events of each answered batch (or nil).
func IngestScaling(ctx context.Context, serverURL, tmp string, batches []demo.Batch, scales []Scale, rounds int,
	progress func(round int, s Scale) (events func(int))) ([]ScaleResult, error) {
	out := make([]ScaleResult, len(scales))
	for i, s := range scales {
		out[i].Scale = s
	}
	for round := 1; round <= max(rounds, 1); round++ {
		for k := range scales {
			i := (k + round - 1) % len(scales) // each round begins one scale further on
			s := scales[i]
			u, drop, err := FreshDatabase(ctx, serverURL)
			if err != nil {
				return out, err
			}
			var events func(int)
			if progress != nil {
				events = progress(round, s)
			}
			dir := filepath.Join(tmp, fmt.Sprintf("scale-%d-%d-%d", round, s.Instances, s.Clients))
			res, err := IngestInstancesOn(ctx, dir, u, batches, s.Instances, s.Clients, events)
			if derr := drop(); err == nil && derr != nil {
				err = fmt.Errorf("the benchmark database was not dropped: %w", derr)
			}
			if err != nil {
				return out, fmt.Errorf("%s: %w", s, err)
			}
			out[i].Runs = append(out[i].Runs, res)
		}
	}
	return out, nil
}

// IngestInstancesOn serves the PostgreSQL database at databaseURL (an empty one) with
// instances servers at once, each with a data directory under dataDir, and measures the
// ingest of batches by clients concurrent clients: client i posts to server i mod
// instances, and each client takes the next batch as soon as its last one is answered,
// so the servers share the batches by how fast they answer. Each answer is checked
// (every event accepted). One instance is IngestHTTPOn.
func IngestInstancesOn(ctx context.Context, dataDir, databaseURL string, batches []demo.Batch, instances, clients int, progress func(events int)) (IngestResult, error) {
	instances, clients = max(instances, 1), max(clients, 1)
	maxBatch := 0
	for _, b := range batches {
		maxBatch = max(maxBatch, b.Events)
	}
	var servers []*Server
	defer func() {
		for _, s := range servers {
			s.Close()
		}
	}()
	for i := range instances {
		dir := filepath.Join(dataDir, fmt.Sprintf("instance-%d", i+1))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return IngestResult{}, err
		}
		srv, err := StartServerOn(ctx, dir, databaseURL, maxBatch)
		if err != nil {
			return IngestResult{}, fmt.Errorf("instance %d: %w", i+1, err)
		}
		servers = append(servers, srv)
	}
	elapsed, cpu, err := ingestSpread(ctx, servers, batches, clients, progress)
	for _, s := range servers {
		if cerr := s.Close(); err == nil {
			err = cerr
		}
	}
	servers = nil
	return IngestResult{Events: Count(batches), Batches: len(batches), Clients: clients, Elapsed: elapsed, CPU: cpu}, err
}

// ingestSpread posts batches through clients concurrent clients, client i to server i
// mod len(servers), each taking the next batch when its last one is answered. It
// returns the time taken and the CPU time the process used meanwhile (servers and
// clients).
func ingestSpread(ctx context.Context, servers []*Server, batches []demo.Batch, clients int, progress func(events int)) (elapsed, cpu time.Duration, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan demo.Batch)
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	start, cpu0 := time.Now(), CPUTime()
	for c := range clients {
		srv := servers[c%len(servers)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				if err := srv.post(ctx, b); err != nil {
					fail(err)
					return
				}
				if progress != nil {
					mu.Lock()
					progress(b.Events)
					mu.Unlock()
				}
			}
		}()
	}
feed:
	for _, b := range batches {
		select {
		case work <- b:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	elapsed, cpu = time.Since(start), CPUTime()-cpu0
	if firstErr != nil {
		return elapsed, cpu, firstErr
	}
	return elapsed, cpu, ctx.Err()
}
