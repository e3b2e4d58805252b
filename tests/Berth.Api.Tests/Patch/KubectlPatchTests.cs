using System.Text.Json.Nodes;
using Berth.Api.Patch;

namespace Berth.Api.Tests.Patch;

/// <summary>The strategic merge patches real kubectl sends (shared/reference/kubectl-wire.md).</summary>
public class KubectlPatchTests
{
    public static TheoryData<string, string, string, string, string> Cases => new()
    {
        {
            "client-side apply of a Service (port and selector change, annotation refresh)",
            "io.k8s.api.core.v1.Service",
            """{"metadata":{"name":"web","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{old}\n"},"labels":{"app":"web"}},"spec":{"ports":[{"port":80,"protocol":"TCP","targetPort":8080}],"selector":{"app":"web"},"clusterIPs":["127.96.0.7"]}}""",
            """{"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{...}\n"},"labels":{"tier":"fe"}},"spec":{"$setElementOrder/ports":[{"port":80}],"ports":[{"port":80,"targetPort":9090}],"selector":{"tier":"fe"}}}""",
            """{"metadata":{"name":"web","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{...}\n"},"labels":{"app":"web","tier":"fe"}},"spec":{"ports":[{"port":80,"protocol":"TCP","targetPort":9090}],"selector":{"app":"web","tier":"fe"},"clusterIPs":["127.96.0.7"]}}"""
        },
        {
            "client-side apply of a Deployment image change",
            "io.k8s.api.apps.v1.Deployment",
            """{"spec":{"replicas":2,"template":{"metadata":{"labels":{"app":"api"}},"spec":{"containers":[{"name":"api","image":"nginx:1.25","ports":[{"containerPort":80}]},{"name":"sidecar","image":"busybox"}]}}}}""",
            """{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"api"}],"containers":[{"image":"nginx:1.26","name":"api"}]}}}}""",
            """{"spec":{"replicas":2,"template":{"metadata":{"labels":{"app":"api"}},"spec":{"containers":[{"name":"api","image":"nginx:1.26","ports":[{"containerPort":80}]},{"name":"sidecar","image":"busybox"}]}}}}"""
        },
        {
            "kubectl rollout restart",
            "io.k8s.api.apps.v1.Deployment",
            """{"spec":{"template":{"metadata":{"labels":{"app":"api"}},"spec":{"containers":[{"name":"api","image":"nginx"}]}}}}""",
            """{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2025-01-01T00:00:00Z"}}}}}""",
            """{"spec":{"template":{"metadata":{"labels":{"app":"api"},"annotations":{"kubectl.kubernetes.io/restartedAt":"2025-01-01T00:00:00Z"}},"spec":{"containers":[{"name":"api","image":"nginx"}]}}}}"""
        },
        {
            "delete a container by merge key",
            "io.k8s.api.core.v1.Pod",
            """{"spec":{"containers":[{"name":"a","image":"x"},{"name":"b","image":"y"},{"name":"c","image":"z"}]}}""",
            """{"spec":{"containers":[{"$patch":"delete","name":"b"}]}}""",
            """{"spec":{"containers":[{"name":"a","image":"x"},{"name":"c","image":"z"}]}}"""
        },
        {
            "delete a container env var (client-side apply removing X)",
            "io.k8s.api.apps.v1.Deployment",
            """{"spec":{"template":{"spec":{"containers":[{"name":"api","env":[{"name":"A","value":"1"},{"name":"X","value":"2"},{"name":"B","value":"3"}]}]}}}}""",
            """{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"api"}],"containers":[{"$setElementOrder/env":[{"name":"A"},{"name":"B"}],"env":[{"$patch":"delete","name":"X"}],"name":"api"}]}}}}""",
            """{"spec":{"template":{"spec":{"containers":[{"name":"api","env":[{"name":"A","value":"1"},{"name":"B","value":"3"}]}]}}}}"""
        },
        {
            "reorder and add env vars per $setElementOrder",
            "io.k8s.api.apps.v1.Deployment",
            """{"spec":{"template":{"spec":{"containers":[{"name":"api","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]}]}}}}""",
            """{"spec":{"template":{"spec":{"containers":[{"$setElementOrder/env":[{"name":"C"},{"name":"B"},{"name":"A"}],"env":[{"name":"C","value":"3"}],"name":"api"}]}}}}""",
            """{"spec":{"template":{"spec":{"containers":[{"name":"api","env":[{"name":"C","value":"3"},{"name":"B","value":"2"},{"name":"A","value":"1"}]}]}}}}"""
        },
        {
            "strategy retainKeys switching RollingUpdate to Recreate",
            "io.k8s.api.apps.v1.Deployment",
            """{"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}}}""",
            """{"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}}""",
            """{"spec":{"strategy":{"type":"Recreate"}}}"""
        },
        {
            "volumes merge,retainKeys switches the volume source",
            "io.k8s.api.core.v1.Pod",
            """{"spec":{"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"c"}}]}}""",
            """{"spec":{"volumes":[{"$retainKeys":["configMap","name"],"name":"data","configMap":{"name":"d"}}]}}""",
            """{"spec":{"volumes":[{"name":"data","configMap":{"name":"d"}},{"name":"cfg","configMap":{"name":"c"}}]}}"""
        },
        {
            "finalizers merge as a set and delete via parallel list",
            "io.k8s.api.core.v1.Pod",
            """{"metadata":{"finalizers":["a","b"]}}""",
            """{"metadata":{"finalizers":["b","c"],"$deleteFromPrimitiveList/finalizers":["a"]}}""",
            """{"metadata":{"finalizers":["b","c"]}}"""
        },
        {
            "atomic clusterIPs are replaced",
            "io.k8s.api.core.v1.Service",
            """{"spec":{"clusterIPs":["127.96.0.7","::1"]}}""",
            """{"spec":{"clusterIPs":["127.96.0.8"]}}""",
            """{"spec":{"clusterIPs":["127.96.0.8"]}}"""
        },
        {
            "new port appended after existing ones",
            "io.k8s.api.core.v1.Service",
            """{"spec":{"ports":[{"port":80,"name":"http"}]}}""",
            """{"spec":{"$setElementOrder/ports":[{"port":80},{"port":443}],"ports":[{"port":443,"name":"https"}]}}""",
            """{"spec":{"ports":[{"port":80,"name":"http"},{"port":443,"name":"https"}]}}"""
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Apply_KubectlPayload_ProducesExpected(string description, string definition, string original, string patch, string expected)
    {
        Assert.NotEmpty(description);
        var result = StrategicMergePatch.Apply(JsonNode.Parse(original)!, JsonAssert.Object(patch), KubernetesSchema.For(definition));
        JsonAssert.Equal(expected, result);
        Assert.DoesNotContain("\"$", result.ToJsonString(), StringComparison.Ordinal);
    }
}
