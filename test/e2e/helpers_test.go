package e2e

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type ctxT = context.Context

var metav1GetOptions = metav1.GetOptions{}
