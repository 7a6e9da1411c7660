module github.com/gocluster/cluster

go 1.25.0

require (
	github.com/alexedwards/scs/v2 v2.9.0
	github.com/gorilla/securecookie v1.1.2
	github.com/gorilla/sessions v1.4.0
	github.com/redis/rueidis v1.0.79
)

require golang.org/x/sys v0.47.0
