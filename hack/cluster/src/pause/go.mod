module svc-doctor-cluster/pause

go 1.26.0
