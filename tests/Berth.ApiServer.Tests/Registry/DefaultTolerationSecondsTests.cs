using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Berth.ApiServer.Registry;
using Berth.ApiServer.Resources;
using Berth.ApiServer.Tests.Http;

namespace Berth.ApiServer.Tests.Registry;

/// <summary>
/// The DefaultTolerationSeconds admission, ported from upstream's TestForgivenessAdmission and TestHandles
/// (plugin/pkg/admission/defaulttolerationseconds/admission_test.go), then over HTTP with Berth's 30 s defaults.
/// </summary>
public sealed class DefaultTolerationSecondsTests
{
    private const string NotReady = """{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}""";
    private const string Unreachable = """{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}""";

    public static TheoryData<string, string, string> ForgivenessCases => new()
    {
        {
            "pod has no tolerations, expect add tolerations for `notread:NoExecute` and `unreachable:NoExecute`",
            "null",
            $"[{NotReady},{Unreachable}]"
        },
        {
            "pod has tolerations, but none is for taint `notread:NoExecute` or `unreachable:NoExecute`, expect add tolerations for `notread:NoExecute` and `unreachable:NoExecute`",
            """[{"key":"foo","operator":"Equal","value":"bar","effect":"NoSchedule","tolerationSeconds":700}]""",
            $$"""[{"key":"foo","operator":"Equal","value":"bar","effect":"NoSchedule","tolerationSeconds":700},{{NotReady}},{{Unreachable}}]"""
        },
        {
            "pod specified a toleration for taint `notReady:NoExecute`, expect add toleration for `unreachable:NoExecute`",
            """[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":700}]""",
            $$"""[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":700},{{Unreachable}}]"""
        },
        {
            "pod specified a toleration for taint `unreachable:NoExecute`, expect add toleration for `notReady:NoExecute`",
            """[{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":700}]""",
            $$"""[{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":700},{{NotReady}}]"""
        },
        {
            "pod specified tolerations for both `notread:NoExecute` and `unreachable:NoExecute`, expect no change",
            """[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":700},{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":700}]""",
            """[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":700},{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":700}]"""
        },
        {
            "pod specified toleration for taint `unreachable`, expect add toleration for `notReady:NoExecute`",
            """[{"key":"node.kubernetes.io/unreachable","operator":"Exists","tolerationSeconds":700}]""",
            $$"""[{"key":"node.kubernetes.io/unreachable","operator":"Exists","tolerationSeconds":700},{{NotReady}}]"""
        },
        {
            "pod has wildcard toleration for all kind of taints, expect no change",
            """[{"operator":"Exists","tolerationSeconds":700}]""",
            """[{"operator":"Exists","tolerationSeconds":700}]"""
        },
    };

    [Theory]
    [MemberData(nameof(ForgivenessCases))]
    public void AddDefaultTolerations_UpstreamForgivenessCases(string description, string requested, string expected)
    {
        var pod = new JsonObject { ["spec"] = new JsonObject() };
        if (JsonNode.Parse(requested) is { } tolerations)
        {
            pod["spec"]!["tolerations"] = tolerations;
        }

        Strategy.AddDefaultTolerations(pod, 300, 300);

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), pod["spec"]!["tolerations"]),
            $"{description}: got {pod["spec"]!["tolerations"]?.ToJsonString()}");
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("status", false)]
    [InlineData("binding", false)]
    public void Admit_RunsOnPodsProperOnly(string? subresource, bool expectTolerations)
    {
        var pod = new JsonObject { ["kind"] = "Pod", ["spec"] = new JsonObject() };

        Strategy.Admit(ResourceCatalog.Default.Find("", "v1", "pods")!, pod, subresource, new ApiServerOptions());

        Assert.Equal(expectTolerations, pod["spec"]!["tolerations"] is JsonArray { Count: 2 });
    }

    [Fact]
    public void Admit_LeavesOtherKindsAlone()
    {
        var deployment = new JsonObject { ["spec"] = new JsonObject() };

        Strategy.Admit(ResourceCatalog.Default.Find("apps", "v1", "deployments")!, deployment, null, new ApiServerOptions());

        Assert.Null(deployment["spec"]!["tolerations"]);
    }

    [Fact]
    public async Task CreateAndUpdate_OverHttp_AddBerthsThirtySecondTolerations()
    {
        await using var server = await InProcessServer.StartAsync();
        const string Pods = "/api/v1/namespaces/default/pods";
        const string Expected = """
            [{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":30},
             {"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":30}]
            """;

        var (status, created) = await SendAsync(server, "POST", Pods, """{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"x"}]}}""");
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Expected), created["spec"]!["tolerations"]), created["spec"]!["tolerations"]?.ToJsonString());

        // A replace that drops them gets them back, as upstream admits updates too.
        var (_, replaced) = await SendAsync(server, "PUT", Pods + "/p", """{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"x"}]}}""");
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Expected), replaced["spec"]!["tolerations"]), replaced["spec"]!["tolerations"]?.ToJsonString());
        Assert.Equal(created["metadata"]!["resourceVersion"]!.GetValue<string>(), replaced["metadata"]!["resourceVersion"]!.GetValue<string>());
    }

    private static async Task<(HttpStatusCode Status, JsonNode Body)> SendAsync(InProcessServer server, string method, string path, string body)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await server.Client.SendAsync(request);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }
}
