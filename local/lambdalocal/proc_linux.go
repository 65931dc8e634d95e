package main

import (
	"os/exec"
	"syscall"
)

// stopWithParent makes the kernel kill the bootstrap when this process
// dies, so that no environment outlives its front.
func stopWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
