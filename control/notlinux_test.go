//go:build unix && !linux

package control

const isLinux = false
