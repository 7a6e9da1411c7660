module github.com/gocluster/cluster

go 1.23
