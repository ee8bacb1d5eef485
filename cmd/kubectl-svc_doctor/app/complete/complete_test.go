package complete

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

// fakeLister serves names per alias[0] and namespace, and records what was listed.
type fakeLister struct {
	names map[string][]string // "svc/shop" -> names
	err   error
	calls []string
}

func (f *fakeLister) list(_ context.Context, k Kind, ns string) ([]string, error) {
	f.calls = append(f.calls, k.Aliases[0]+"/"+ns)
	return f.names[k.Aliases[0]+"/"+ns], f.err
}

func TestResourceNames(t *testing.T) {
	const noFile, noSpace = cobra.ShellCompDirectiveNoFileComp, cobra.ShellCompDirectiveNoSpace
	names := map[string][]string{
		"svc/shop":        {"web", "api", "web-canary"},
		"pod/shop":        {"frontend-1"},
		"deployment/shop": {"web"},
	}
	tests := []struct {
		name       string
		kinds      []Kind
		bare       bool
		args       []string
		toComplete string
		lister     *fakeLister
		want       []string
		wantDir    cobra.ShellCompDirective
		wantCalls  []string
	}{
		{name: "empty offers the type with a slash", kinds: []Kind{Services}, want: []string{"svc/"}, wantDir: noSpace | noFile},
		{name: "type prefix", kinds: []Kind{Services, Pods}, toComplete: "p", want: []string{"pod/"}, wantDir: noSpace | noFile},
		{name: "full alias without slash", kinds: []Kind{Services}, toComplete: "service", want: []string{"service/"}, wantDir: noSpace | noFile},
		{name: "names after svc/ sorted", kinds: []Kind{Services}, toComplete: "svc/", want: []string{"svc/api", "svc/web", "svc/web-canary"}, wantDir: noFile, wantCalls: []string{"svc/shop"}},
		{name: "name prefix keeps the alias typed", kinds: []Kind{Services}, toComplete: "service/we", want: []string{"service/web", "service/web-canary"}, wantDir: noFile, wantCalls: []string{"svc/shop"}},
		{name: "alias is case-insensitive", kinds: []Kind{Services}, toComplete: "SVC/a", want: []string{"SVC/api"}, wantDir: noFile, wantCalls: []string{"svc/shop"}},
		{name: "kind not taken by the command", kinds: []Kind{Services}, toComplete: "pod/", want: nil, wantDir: noFile},
		{name: "second argument completes nothing", kinds: []Kind{Services}, args: []string{"svc/web"}, want: nil, wantDir: noFile},
		{name: "bare TYPE NAME", kinds: []Kind{Deployments, Pods}, bare: true, args: []string{"deploy"}, toComplete: "w", want: []string{"web"}, wantDir: noFile, wantCalls: []string{"deployment/shop"}},
		{name: "bare off", kinds: []Kind{Deployments}, args: []string{"deploy"}, want: nil, wantDir: noFile},
		{name: "cluster error completes nothing", kinds: []Kind{Services}, toComplete: "svc/", lister: &fakeLister{err: errors.New("forbidden")}, want: nil, wantDir: noFile, wantCalls: []string{"svc/shop"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fl := tt.lister
			if fl == nil {
				fl = &fakeLister{names: names}
			}
			opts := Options{Bare: tt.bare, Lister: fl.list, Namespace: func() string { return "shop" }}
			got, dir := ResourceNames(nil, opts, tt.kinds...)(&cobra.Command{}, tt.args, tt.toComplete)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("completions (-want +got):\n%s", diff)
			}
			if dir != tt.wantDir {
				t.Errorf("directive = %d, want %d", dir, tt.wantDir)
			}
			if diff := cmp.Diff(tt.wantCalls, fl.calls); diff != "" {
				t.Errorf("lister calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFlagResourceNames(t *testing.T) {
	fl := &fakeLister{names: map[string][]string{"pod/shop": {"frontend-1", "backend-1"}}}
	f := FlagResourceNames(nil, Options{Lister: fl.list, Namespace: func() string { return "shop" }}, Pods)
	got, _ := f(&cobra.Command{}, []string{"svc/web"}, "pod/f")
	if diff := cmp.Diff([]string{"pod/frontend-1"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestKindsListFromTheAPI(t *testing.T) {
	meta := func(ns, name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }
	objs := []runtime.Object{
		&corev1.Service{ObjectMeta: meta("shop", "web")},
		&corev1.Service{ObjectMeta: meta("other", "db")},
		&corev1.Pod{ObjectMeta: meta("shop", "web-1")},
		&appsv1.Deployment{ObjectMeta: meta("shop", "web")},
		&appsv1.StatefulSet{ObjectMeta: meta("shop", "db")},
		&appsv1.ReplicaSet{ObjectMeta: meta("shop", "web-7d4b9")},
		&corev1.ReplicationController{ObjectMeta: meta("shop", "legacy")},
	}
	cs := fake.NewClientset(objs...)
	tests := []struct {
		kind Kind
		want []string
	}{
		{Services, []string{"web"}},
		{Pods, []string{"web-1"}},
		{Deployments, []string{"web"}},
		{StatefulSets, []string{"db"}},
		{ReplicaSets, []string{"web-7d4b9"}},
		{ReplicationControllers, []string{"legacy"}},
	}
	for _, tt := range tests {
		t.Run(tt.kind.Aliases[0], func(t *testing.T) {
			got, err := tt.kind.list(context.Background(), cs, "shop")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
