//go:build linux

package control

const isLinux = true
