using static Berth.ApiServer.Tests.Tables.TableTestSupport;

namespace Berth.ApiServer.Tests.Tables;

// printDeployment / printReplicaSet: integer columns are JSON numbers (int64 upstream).
public class AppsPrinterTests
{
    [Fact]
    public void Cells_RolledOutDeployment_AllColumns()
    {
        var json = """
            {"apiVersion":"apps/v1","kind":"Deployment",
             "metadata":{"name":"kiada","namespace":"kiada","creationTimestamp":"T-2d","generation":2},
             "spec":{"replicas":3,"selector":{"matchLabels":{"app":"kiada","rel":"stable"}},
                     "template":{"metadata":{"labels":{"app":"kiada","rel":"stable"}},
                                 "spec":{"containers":[{"name":"kiada","image":"luksa/kiada:0.5"},{"name":"envoy","image":"envoyproxy/envoy:v1.14.1"}]}}},
             "status":{"observedGeneration":2,"replicas":3,"updatedReplicas":3,"readyReplicas":2,"availableReplicas":2}}
            """;

        Assert.Equal(
            new object[] { "kiada", "2/3", 3L, 2L, "2d", "kiada,envoy", "luksa/kiada:0.5,envoyproxy/envoy:v1.14.1", "app=kiada,rel=stable" },
            Row("deployments.apps", json));
    }

    [Fact]
    public void Cells_NewDeploymentWithoutStatus_ZeroCounts()
    {
        var json = """{"metadata":{"name":"web"},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"spec":{"containers":[{"name":"nginx","image":"nginx"}]}}}}""";

        Assert.Equal(
            new object[] { "web", "0/2", 0L, 0L, "<unknown>", "nginx", "nginx", "app=web" },
            Row("deployments.apps", json));
    }

    [Theory]
    [InlineData("""{"matchLabels":{"app":"web"},"matchExpressions":[{"key":"tier","operator":"In","values":["fe","be"]}]}""", "app=web,tier in (be,fe)")]
    [InlineData("""{"matchExpressions":[{"key":"env","operator":"NotIn","values":["prod"]},{"key":"canary","operator":"DoesNotExist"},{"key":"app","operator":"Exists"}]}""", "app,!canary,env notin (prod)")]
    [InlineData("""{}""", "")]
    [InlineData("""{"matchExpressions":[{"key":"x","operator":"Bogus"}]}""", "<invalid>")]
    public void Cells_DeploymentSelector_FormatsLikeLabelSelectorAsSelector(string selector, string expected)
    {
        var json = """{"metadata":{"name":"d"},"spec":{"replicas":1,"selector":SELECTOR}}""".Replace("SELECTOR", selector, StringComparison.Ordinal);

        Assert.Equal(expected, Row("deployments.apps", json)[7]);
    }

    [Fact]
    public void Cells_DeploymentWithoutReplicas_DefaultsToOne()
    {
        var json = """{"metadata":{"name":"d"},"spec":{"selector":{"matchLabels":{"a":"b"}}},"status":{"readyReplicas":1}}""";

        Assert.Equal("1/1", Row("deployments.apps", json)[1]);
    }

    [Fact]
    public void Cells_ReplicaSet_AllColumns()
    {
        var json = """
            {"metadata":{"name":"kiada-5d8b9c","creationTimestamp":"T-90s","labels":{"app":"kiada","pod-template-hash":"5d8b9c"}},
             "spec":{"replicas":3,"selector":{"matchLabels":{"pod-template-hash":"5d8b9c","app":"kiada"}},
                     "template":{"spec":{"containers":[{"name":"kiada","image":"luksa/kiada:0.5"}]}}},
             "status":{"replicas":3,"readyReplicas":1,"availableReplicas":1}}
            """;

        Assert.Equal(
            new object[] { "kiada-5d8b9c", 3L, 3L, 1L, "90s", "kiada", "luksa/kiada:0.5", "app=kiada,pod-template-hash=5d8b9c" },
            Row("replicasets.apps", json));
    }

    [Fact]
    public void Cells_ReplicaSetWithEmptySelector_IsNone()
    {
        var json = """{"metadata":{"name":"rs"},"spec":{"replicas":0,"selector":{}}}""";

        Assert.Equal(
            new object[] { "rs", 0L, 0L, 0L, "<unknown>", "", "", "<none>" },
            Row("replicasets.apps", json));
    }
}
