//go:build ignore

// This file lets relkit run with nothing installed but Go:
//
//	go run magefile.go check:all
//
// It is the zero-install bootstrap; `go tool mage` (see go.mod's tool line)
// does the same and keeps the targets' exit codes, which `go run` turns
// into 1. The targets themselves live in magefiles/.
package main

import (
	"os"

	"github.com/magefile/mage/mage"
)

func main() { os.Exit(mage.Main()) }
