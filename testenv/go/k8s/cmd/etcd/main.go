// Tiny main for etcd: the etcd server module's own go.mod uses relative replaces,
// so `go install go.etcd.io/etcd/server/v3@...` is refused; calling etcdmain works.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
