using System.Text.Json.Nodes;
using Berth.Api.Patch;

namespace Berth.Api.Tests.Patch;

public class ServerSideApplyTests
{
    public static TheoryData<string, string?, string, string> Cases => new()
    {
        { "create when there is no live object", null, """{"metadata":{"name":"web"},"spec":{"ports":[{"port":80}]}}""", """{"metadata":{"name":"web"},"spec":{"ports":[{"port":80}]}}""" },
        {
            "maps merge and server-set fields survive",
            """{"metadata":{"name":"web","uid":"u1","labels":{"a":"1"}},"spec":{"clusterIP":"127.96.0.7","selector":{"app":"web"}}}""",
            """{"metadata":{"name":"web","labels":{"b":"2"}},"spec":{"selector":{"app":"web2"}}}""",
            """{"metadata":{"name":"web","uid":"u1","labels":{"a":"1","b":"2"}},"spec":{"clusterIP":"127.96.0.7","selector":{"app":"web2"}}}"""
        },
        {
            "keyed lists merge by merge key",
            """{"spec":{"ports":[{"port":80,"protocol":"TCP","targetPort":8080,"nodePort":30080},{"port":443,"protocol":"TCP"}]}}""",
            """{"spec":{"ports":[{"port":80,"targetPort":9090},{"port":8443}]}}""",
            """{"spec":{"ports":[{"port":80,"protocol":"TCP","targetPort":9090,"nodePort":30080},{"port":443,"protocol":"TCP"},{"port":8443}]}}"""
        },
        {
            "unkeyed lists are replaced and nulls ignored",
            """{"metadata":{"creationTimestamp":"2025-01-01T00:00:00Z"},"spec":{"clusterIPs":["127.96.0.7"]}}""",
            """{"metadata":{"creationTimestamp":null},"spec":{"clusterIPs":["127.96.0.8"]}}""",
            """{"metadata":{"creationTimestamp":"2025-01-01T00:00:00Z"},"spec":{"clusterIPs":["127.96.0.8"]}}"""
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Apply_Configuration_MergesIntoLive(string description, string? live, string applied, string expected)
    {
        Assert.NotEmpty(description);
        var result = ServerSideApply.Apply(live is null ? null : JsonNode.Parse(live), JsonAssert.Object(applied), KubernetesSchema.For("io.k8s.api.core.v1.Service"));
        JsonAssert.Equal(expected, result);
    }
}
