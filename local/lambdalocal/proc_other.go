//go:build !linux

package main

import "os/exec"

// stopWithParent does nothing here: the bootstraps stop on their own once
// their Runtime API is gone.
func stopWithParent(*exec.Cmd) {}
