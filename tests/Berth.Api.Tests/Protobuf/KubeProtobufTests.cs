using System.Text.Json.Nodes;
using Berth.Api.Serialization.Protobuf;

namespace Berth.Api.Tests.Protobuf;

public sealed class KubeProtobufTests
{
    [Fact]
    public void TryDecode_RichDeployment_MapsEveryKindOfField()
    {
        var raw = new ProtoWriter()
            .Message(1, m => m
                .String(1, "rich").String(2, "").String(3, "prod").String(4, "").String(5, "").String(6, "").Varint(7, 0)
                .Message(8, t => t.Varint(1, 1704164645))
                .Entry(11, "app", "rich")
                .Entry(12, "note", "x")
                .Message(13, o => o.String(1, "ConfigMap").String(3, "owner").String(4, "u-1").String(5, "v1").Bool(6, true).Bool(7, false))
                .String(14, "f1"))
            .Message(2, s => s
                .Varint(1, 2)
                .Message(2, sel => sel.Message(2, r => r.String(1, "tier").String(2, "In").String(3, "web").String(3, "api")))
                .Message(3, tpl => tpl
                    .Message(1, m => m.Message(8, _ => { }).Entry(11, "app", "rich"))
                    .Message(2, pod => pod
                        .Message(1, v => v.String(1, "cache").Message(2, src => src.Message(2, e => e.String(1, "").Message(2, q => q.String(1, "1Gi")))))
                        .Message(1, v => v.String(1, "cfg").Message(2, src => src.Message(19, c => c
                            .Message(1, l => l.String(1, "app-config"))
                            .Message(2, k => k.String(1, "a").String(2, "a.txt").Varint(3, 420))
                            .Varint(3, 0))))
                        .Message(1, v => v.String(1, "sec").Message(2, src => src.Message(6, c => c.String(1, "s").Bool(4, true))))
                        .Message(20, c => c.String(1, "init").String(2, "busybox").String(3, "sh").String(3, "-c").String(3, "true"))
                        .Message(2, c => c
                            .String(1, "app").String(2, "app:1").String(4, "--port").String(4, "8080").String(5, "/srv")
                            .Message(6, p => p.String(1, "http").Varint(2, 0).Varint(3, 8080).String(4, "TCP").String(5, ""))
                            .Message(7, e => e.String(1, "A").String(2, "1"))
                            .Message(7, e => e.String(1, "POD_IP").String(2, "").Message(3, f => f.Message(1, r => r.String(1, "").String(2, "status.podIP"))))
                            .Message(7, e => e.String(1, "K").Message(3, f => f.Message(3, r => r.Message(1, l => l.String(1, "app-config")).String(2, "k").Bool(3, false))))
                            .Message(7, e => e.String(1, "S").Message(3, f => f.Message(4, r => r.Message(1, l => l.String(1, "s")).String(2, "p"))))
                            .Message(8, r => r.QuantityEntry(1, "cpu", "500m").QuantityEntry(1, "memory", "128Mi").QuantityEntry(2, "cpu", "100m"))
                            .Message(9, vm => vm.String(1, "cache").Bool(2, true).String(3, "/cache").String(4, ""))
                            .Message(10, pr => pr.Message(1, h => h.Message(3, t => t.IntOrString(1, 8080))).Varint(2, 3))
                            .Message(11, pr => pr.Message(1, h => h.Message(2, g => g.String(1, "/healthz").IntOrString(2, "http"))).Varint(4, 5))
                            .String(14, "IfNotPresent")
                            .Message(15, sc => sc.Message(1, cap => cap.String(2, "ALL")).Varint(4, 0))
                            .Bool(16, false))
                        .String(3, "Always")
                        .Varint(4, 0)
                        .String(6, "ClusterFirst")
                        .Entry(7, "disk", "ssd")
                        .String(8, "robot")
                        .Bool(11, false)
                        .Message(14, sc => sc.Message(1, _ => { }).Raw(0x22, 0x04, 0xE8, 0x07, 0xD0, 0x0F).Varint(5, 2000))
                        .Message(22, t => t.String(1, "k").String(2, "Exists").String(4, "NoSchedule").Varint(5, 30))))
                .Message(4, st => st.String(1, "RollingUpdate").Message(2, ru => ru.IntOrString(1, 0).IntOrString(2, "25%")))
                .Varint(5, 0)
                .Varint(6, 0)
                .Bool(7, false))
            .Message(3, _ => { })
            .ToArray();

        var expected = JsonNode.Parse("""
            {
              "apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {
                "name": "rich", "namespace": "prod", "creationTimestamp": "2024-01-02T03:04:05Z",
                "labels": {"app": "rich"}, "annotations": {"note": "x"},
                "ownerReferences": [{"kind": "ConfigMap", "name": "owner", "uid": "u-1", "apiVersion": "v1", "controller": true, "blockOwnerDeletion": false}],
                "finalizers": ["f1"]
              },
              "spec": {
                "replicas": 2,
                "selector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]}]},
                "template": {
                  "metadata": {"creationTimestamp": null, "labels": {"app": "rich"}},
                  "spec": {
                    "volumes": [
                      {"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}},
                      {"name": "cfg", "configMap": {"name": "app-config", "items": [{"key": "a", "path": "a.txt", "mode": 420}], "defaultMode": 0}},
                      {"name": "sec", "secret": {"secretName": "s", "optional": true}}
                    ],
                    "initContainers": [{"name": "init", "image": "busybox", "command": ["sh", "-c", "true"]}],
                    "containers": [{
                      "name": "app", "image": "app:1", "args": ["--port", "8080"], "workingDir": "/srv",
                      "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                      "env": [
                        {"name": "A", "value": "1"},
                        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                        {"name": "K", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "k", "optional": false}}},
                        {"name": "S", "valueFrom": {"secretKeyRef": {"name": "s", "key": "p"}}}
                      ],
                      "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "100m"}},
                      "volumeMounts": [{"name": "cache", "readOnly": true, "mountPath": "/cache"}],
                      "livenessProbe": {"tcpSocket": {"port": 8080}, "initialDelaySeconds": 3},
                      "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 5},
                      "imagePullPolicy": "IfNotPresent",
                      "securityContext": {"capabilities": {"drop": ["ALL"]}, "runAsUser": 0}
                    }],
                    "restartPolicy": "Always",
                    "terminationGracePeriodSeconds": 0,
                    "dnsPolicy": "ClusterFirst",
                    "nodeSelector": {"disk": "ssd"},
                    "serviceAccountName": "robot",
                    "securityContext": {"seLinuxOptions": {}, "supplementalGroups": [1000, 2000], "fsGroup": 2000},
                    "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 30}]
                  }
                },
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
                "revisionHistoryLimit": 0
              },
              "status": {}
            }
            """);

        AssertDecodes(ProtoWriter.Envelope("apps/v1", "Deployment", raw), expected);
    }

    [Fact]
    public void TryDecode_ServiceWithEverySpecField_KeepsPointerZerosAndDropsPlainZeros()
    {
        var raw = new ProtoWriter()
            .Message(1, m => m.String(1, "dns"))
            .Message(2, s => s
                .Message(1, p => p.String(1, "dns").String(2, "UDP").Varint(3, 53).IntOrString(4, "dns").Varint(5, 0).String(6, "dns"))
                .Entry(2, "k8s-app", "kube-dns")
                .String(3, "10.0.0.10").String(18, "10.0.0.10")
                .String(4, "LoadBalancer")
                .String(5, "1.2.3.4")
                .String(7, "ClientIP").String(8, "5.6.7.8").String(9, "10.0.0.0/8").String(10, "")
                .String(11, "Local").Varint(12, 31000).Bool(13, true)
                .Message(14, a => a.Message(1, c => c.Varint(1, 0)))
                .String(19, "IPv4").String(17, "SingleStack").Bool(20, false).String(21, "example.com/lb")
                .String(22, "Cluster").String(23, "PreferClose"))
            .Message(3, st => st
                .Message(1, lb => lb.Message(1, i => i.String(1, "1.1.1.1").String(2, "")))
                .Message(2, c => c.String(1, "Ready").String(2, "True").Varint(3, 0).Message(4, t => t.Varint(1, 0)).String(5, "Ok").String(6, "")))
            .ToArray();

        var expected = JsonNode.Parse("""
            {
              "apiVersion": "v1", "kind": "Service",
              "metadata": {"name": "dns"},
              "spec": {
                "ports": [{"name": "dns", "protocol": "UDP", "port": 53, "targetPort": "dns", "appProtocol": "dns"}],
                "selector": {"k8s-app": "kube-dns"},
                "clusterIP": "10.0.0.10", "clusterIPs": ["10.0.0.10"], "type": "LoadBalancer", "externalIPs": ["1.2.3.4"],
                "sessionAffinity": "ClientIP", "loadBalancerIP": "5.6.7.8", "loadBalancerSourceRanges": ["10.0.0.0/8"],
                "externalTrafficPolicy": "Local", "healthCheckNodePort": 31000, "publishNotReadyAddresses": true,
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 0}},
                "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "allocateLoadBalancerNodePorts": false,
                "loadBalancerClass": "example.com/lb", "internalTrafficPolicy": "Cluster", "trafficDistribution": "PreferClose"
              },
              "status": {
                "loadBalancer": {"ingress": [{"ip": "1.1.1.1"}]},
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "1970-01-01T00:00:00Z", "reason": "Ok"}]
              }
            }
            """);

        AssertDecodes(ProtoWriter.Envelope("v1", "Service", raw), expected);
    }

    [Fact]
    public void TryDecode_ConfigMapAndSecret_RenderBytesAsBase64AndKeepImmutable()
    {
        var configMap = new ProtoWriter()
            .Message(1, m => m.String(1, "cm"))
            .Entry(2, "a", "b")
            .Message(3, e => e.String(1, "bin").Bytes(2, [0x00, 0xFF]))
            .Bool(4, false)
            .ToArray();
        var secret = new ProtoWriter()
            .Message(1, m => m.String(1, "s"))
            .Message(2, e => e.String(1, "k").Bytes(2, [0xFF]))
            .String(3, "Opaque")
            .Entry(4, "user", "p")
            .Bool(5, true)
            .ToArray();

        AssertDecodes(
            ProtoWriter.Envelope("v1", "ConfigMap", configMap),
            JsonNode.Parse("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm"},"data":{"a":"b"},"binaryData":{"bin":"AP8="},"immutable":false}"""));
        AssertDecodes(
            ProtoWriter.Envelope("v1", "Secret", secret),
            JsonNode.Parse("""{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"data":{"k":"/w=="},"type":"Opaque","stringData":{"user":"p"},"immutable":true}"""));
    }

    [Fact]
    public void TryDecode_UnknownFieldsOfEveryWireType_AreSkipped()
    {
        var raw = new ProtoWriter()
            .Message(1, m => m.String(1, "ns1").Varint(99, 5).Raw(0xA1, 0x06, 1, 2, 3, 4, 5, 6, 7, 8).Raw(0xAD, 0x06, 1, 2, 3, 4).String(98, "future"))
            .Varint(50, 1)
            .ToArray();

        AssertDecodes(ProtoWriter.Envelope("v1", "Namespace", raw), JsonNode.Parse("""{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"ns1"}}"""));
    }

    [Fact]
    public void TryDecode_NegativeInt32_SignExtendedVarint()
    {
        var raw = new ProtoWriter().Message(2, s => s.Varint(1, -1)).ToArray();

        AssertDecodes(ProtoWriter.Envelope("apps/v1", "Deployment", raw), JsonNode.Parse("""{"apiVersion":"apps/v1","kind":"Deployment","spec":{"replicas":-1}}"""));
    }

    [Fact]
    public void TryDecode_ManagedFields_ParsesFieldsV1Json()
    {
        var raw = new ProtoWriter()
            .Message(1, m => m.String(1, "x").Message(17, f => f
                .String(1, "kubectl").String(2, "Update").String(3, "v1").Message(4, t => t.Varint(1, 1)).String(6, "FieldsV1")
                .Message(7, v => v.String(1, """{"f:data":{"f:a":{}}}"""))))
            .ToArray();

        AssertDecodes(
            ProtoWriter.Envelope("v1", "ConfigMap", raw),
            JsonNode.Parse("""
                {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","managedFields":[
                  {"manager":"kubectl","operation":"Update","apiVersion":"v1","time":"1970-01-01T00:00:01Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{"f:a":{}}}}]}}
                """));
    }

    public static TheoryData<string, byte[], string> MalformedBodies() => new()
    {
        { "empty body", [], "magic" },
        { "wrong magic", [.. "k8t\0"u8.ToArray(), 0x0A, 0x00], "magic" },
        { "unknown kind", ProtoWriter.Envelope("v1", "Widget", []), "Widget" },
        { "no typeMeta", [.. "k8s\0"u8.ToArray(), 0x12, 0x00], "kind" },
        { "gzip content encoding", ProtoWriter.Envelope("v1", "Namespace", [], contentEncoding: "gzip"), "gzip" },
        { "json content type", ProtoWriter.Envelope("v1", "Namespace", [], contentType: "application/json"), "application/json" },
        { "envelope length past end", [.. "k8s\0"u8.ToArray(), 0x12, 0x05, 0x0A], "envelope" },
        { "truncated varint", ProtoWriter.Envelope("apps/v1", "Deployment", [0x12, 0x02, 0x08, 0x80]), "truncated" },
        { "varint longer than ten bytes", ProtoWriter.Envelope("apps/v1", "Deployment", [0x12, 0x0C, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]), "truncated" },
        { "message length past end", ProtoWriter.Envelope("v1", "Namespace", [0x0A, 0x05, 0x0A]), "truncated" },
        { "string sent as varint", ProtoWriter.Envelope("v1", "Namespace", new ProtoWriter().Message(1, m => m.Varint(1, 3)).ToArray()), "wire type" },
        { "message sent as varint", ProtoWriter.Envelope("v1", "Namespace", new ProtoWriter().Varint(1, 3).ToArray()), "wire type" },
        { "field number zero", ProtoWriter.Envelope("v1", "Namespace", [0x02, 0x00]), "tag" },
        { "group wire type", ProtoWriter.Envelope("v1", "Namespace", [0xA3, 0x06]), "unsupported wire type" },
        { "empty quantity", ProtoWriter.Envelope("v1", "Pod", new ProtoWriter().Message(2, s => s.Message(2, c => c.Message(8, r => r.QuantityEntry(1, "cpu", "")))).ToArray()), "quantity" },
        { "timestamp past year 9999", ProtoWriter.Envelope("v1", "Namespace", new ProtoWriter().Message(1, m => m.Message(8, t => t.Varint(1, 253402300800))).ToArray()), "timestamp" },
        { "invalid fieldsV1 json", ProtoWriter.Envelope("v1", "Namespace", new ProtoWriter().Message(1, m => m.Message(17, f => f.Message(7, v => v.String(1, "{nope")))).ToArray()), "JSON" },
    };

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public void TryDecode_MalformedBody_ReturnsFalseWithError(string scenario, byte[] body, string errorContains)
    {
        var ok = KubeProtobuf.TryDecode(body, out var obj, out var error);

        Assert.False(ok, scenario);
        Assert.Null(obj);
        Assert.NotNull(error);
        Assert.Contains(errorContains, error, StringComparison.Ordinal);
    }

    private static void AssertDecodes(byte[] body, JsonNode? expected)
    {
        var ok = KubeProtobuf.TryDecode(body, out var actual, out var error);

        Assert.True(ok, error);
        Assert.True(JsonNode.DeepEquals(expected, actual), $"expected {expected?.ToJsonString()}\nactual   {actual?.ToJsonString()}");
    }
}
