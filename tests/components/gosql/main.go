// A real Go database/sql pool (lib/pq) instrumented with client_golang's official
// collectors.NewDBStatsCollector, for novapool's live tests. It opens -busy connections and
// keeps them checked out, opens -idle more and returns them to the pool, prints what
// db.Stats() says (the component's own numbers) as one JSON line with its /metrics URL, and
// serves until stdin closes. Built offline from Debian's packages:
//   GOPATH=/usr/share/gocode GO111MODULE=off go build -o gosql-pool .
package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"log"
	"net"
	"net/http"
	"os"

	_ "github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	dsn := flag.String("dsn", "", "lib/pq connection string")
	name := flag.String("name", "feed", "db_name label of the collector")
	maxOpen := flag.Int("max-open", 0, "SetMaxOpenConns (0: unlimited, Go's default)")
	busy := flag.Int("busy", 2, "connections kept checked out")
	idle := flag.Int("idle", 1, "connections returned to the pool")
	flag.Parse()

	db, err := sql.Open("postgres", *dsn)
	if err != nil {
		log.Fatal(err)
	}
	db.SetMaxOpenConns(*maxOpen)
	db.SetMaxIdleConns(*busy + *idle)
	ctx := context.Background()
	var conns []*sql.Conn
	for i := 0; i < *busy+*idle; i++ {
		c, err := db.Conn(ctx)
		if err != nil {
			log.Fatal(err)
		}
		if err := c.PingContext(ctx); err != nil {
			log.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns[*busy:] {
		c.Close() // back to the pool: idle
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewDBStatsCollector(db, *name))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(ln, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	st := db.Stats()
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"url":      "http://" + ln.Addr().String() + "/metrics",
		"open":     st.OpenConnections,
		"in_use":   st.InUse,
		"idle":     st.Idle,
		"max_open": st.MaxOpenConnections,
	})
	bufio.NewReader(os.Stdin).ReadString('\n') // until the test closes our stdin
}
