module kube-netbench

go 1.26.0
