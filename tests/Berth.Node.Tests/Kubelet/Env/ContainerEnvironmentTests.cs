using System.Text;
using Berth.Api.Models;
using Berth.Node.Kubelet.Env;

namespace Berth.Node.Tests.Kubelet.Env;

// Cases from pkg/kubelet/kubelet_pods_test.go TestMakeEnvironmentVariables.
public class ContainerEnvironmentTests
{
    private static readonly string[] s_masterVars =
    [
        "KUBERNETES_SERVICE_HOST=1.2.3.1", "KUBERNETES_SERVICE_PORT=8081", "KUBERNETES_PORT=tcp://1.2.3.1:8081",
        "KUBERNETES_PORT_8081_TCP=tcp://1.2.3.1:8081", "KUBERNETES_PORT_8081_TCP_PROTO=tcp", "KUBERNETES_PORT_8081_TCP_PORT=8081",
        "KUBERNETES_PORT_8081_TCP_ADDR=1.2.3.1", "services__kubernetes__http__0=http://1.2.3.1:8081",
    ];

    private static readonly string[] s_test1Vars =
    [
        "TEST_SERVICE_HOST=1.2.3.3", "TEST_SERVICE_PORT=8083", "TEST_PORT=tcp://1.2.3.3:8083", "TEST_PORT_8083_TCP=tcp://1.2.3.3:8083",
        "TEST_PORT_8083_TCP_PROTO=tcp", "TEST_PORT_8083_TCP_PORT=8083", "TEST_PORT_8083_TCP_ADDR=1.2.3.3", "services__test__http__0=http://1.2.3.3:8083",
    ];

    private static Pod NewPod(string ns, bool links, params Container[] containers) => new()
    {
        Metadata = new ObjectMeta
        {
            Name = "dapi-test-pod-name",
            Namespace = ns,
            Uid = "uid-1",
            Labels = new() { ["app"] = "web", ["tier"] = "front" },
            Annotations = new() { ["note"] = "say \"hi\"\n" },
        },
        Spec = new PodSpec { NodeName = "node-name", ServiceAccountName = "special", EnableServiceLinks = links, Containers = [.. containers] },
    };

    private static EnvironmentSources Sources(ConfigMap? configMap = null, Secret? secret = null) => new()
    {
        GetConfigMap = (_, name, _) => Task.FromResult(configMap?.Metadata?.Name == name ? configMap : null),
        GetSecret = (_, name, _) => Task.FromResult(secret?.Metadata?.Name == name ? secret : null),
        Services = ServiceEnvironmentTests.KubeletTestServices,
        PodIPs = ["1.2.3.4", "fd00::6"],
        HostIPs = ["127.0.0.1", "::1"],
        NodeAllocatable = new Dictionary<string, string> { ["cpu"] = "4", ["memory"] = "8Gi", ["ephemeral-storage"] = "100Gi" },
    };

    private static ConfigMap TestConfigMap(Dictionary<string, string> data) =>
        new() { Metadata = new ObjectMeta { Name = "test-config-map", Namespace = "test1" }, Data = data };

    private static Secret TestSecret(Dictionary<string, string> data) => new()
    {
        Metadata = new ObjectMeta { Name = "test-secret", Namespace = "test1" },
        Data = data.ToDictionary(e => e.Key, e => Convert.ToBase64String(Encoding.UTF8.GetBytes(e.Value))),
    };

    private static async Task<EnvironmentResult> BuildAsync(string ns, bool links, Container container, EnvironmentSources? sources = null) =>
        await ContainerEnvironment.BuildAsync(NewPod(ns, links, container), container, sources ?? Sources(), CancellationToken.None);

    private static string[] Flatten(EnvironmentResult result)
    {
        Assert.True(result.Succeeded, result.Message);
        return [.. result.Variables.Select(v => $"{v.Key}={v.Value}")];
    }

    private static EnvVar FieldRef(string name, string path) => new() { Name = name, ValueFrom = new EnvVarSource { FieldRef = new ObjectFieldSelector { ApiVersion = "v1", FieldPath = path } } };

    [Fact]
    public async Task BuildAsync_LiteralsOverService_ReplacedInPlace()
    {
        // "api server = Y, kubelet = Y": a literal of the same name replaces the service value where it stands.
        var container = new Container { Env = [new() { Name = "FOO", Value = "BAR" }, new() { Name = "KUBERNETES_SERVICE_PORT", Value = "1" }] };
        var vars = Flatten(await BuildAsync("test1", links: false, container));
        Assert.Equal([.. s_masterVars.Select(v => v == "KUBERNETES_SERVICE_PORT=8081" ? "KUBERNETES_SERVICE_PORT=1" : v), "FOO=BAR"], vars);
    }

    [Fact]
    public async Task BuildAsync_ServiceLinks_NamespaceServicesIncluded()
    {
        var vars = Flatten(await BuildAsync("test1", links: true, new Container { Env = [new() { Name = "FOO", Value = "BAZ" }] }));
        Assert.Equal([.. s_masterVars, .. s_test1Vars, "FOO=BAZ"], vars);
    }

    [Fact]
    public async Task BuildAsync_DownwardApi_PodFieldsAndNodeAgentIPs()
    {
        var container = new Container
        {
            Env =
            [
                FieldRef("POD_NAME", "metadata.name"), FieldRef("POD_NAMESPACE", "metadata.namespace"), FieldRef("POD_UID", "metadata.uid"),
                FieldRef("POD_NODE_NAME", "spec.nodeName"), FieldRef("POD_SERVICE_ACCOUNT_NAME", "spec.serviceAccountName"),
                FieldRef("POD_IP", "status.podIP"), FieldRef("POD_IPS", "status.podIPs"), FieldRef("HOST_IP", "status.hostIP"),
                FieldRef("HOST_IPS", "status.hostIPs"), FieldRef("APP", "metadata.labels['app']"), FieldRef("MISSING", "metadata.labels['nope']"),
                FieldRef("LABELS", "metadata.labels"), FieldRef("NOTE", "metadata.annotations"), FieldRef("OLD", "spec.host"),
            ],
        };
        var vars = Flatten(await BuildAsync("downward-api", links: false, container));
        Assert.Equal(
            [
                .. s_masterVars, "POD_NAME=dapi-test-pod-name", "POD_NAMESPACE=downward-api", "POD_UID=uid-1", "POD_NODE_NAME=node-name",
                "POD_SERVICE_ACCOUNT_NAME=special", "POD_IP=1.2.3.4", "POD_IPS=1.2.3.4,fd00::6", "HOST_IP=127.0.0.1", "HOST_IPS=127.0.0.1,::1",
                "APP=web", "MISSING=", "LABELS=app=\"web\"\ntier=\"front\"", "NOTE=note=\"say \\\"hi\\\"\\n\"", "OLD=node-name",
            ],
            vars);
    }

    [Fact]
    public async Task BuildAsync_Expansion_AgainstWhatIsDefinedSoFar()
    {
        // The "env expansion" case: literals, service variables, downward values, out-of-order and undefined references.
        var container = new Container
        {
            Env =
            [
                new() { Name = "TEST_LITERAL", Value = "test-test-test" },
                FieldRef("POD_NAME", "metadata.name"),
                new() { Name = "OUT_OF_ORDER_TEST", Value = "$(OUT_OF_ORDER_TARGET)" },
                new() { Name = "OUT_OF_ORDER_TARGET", Value = "FOO" },
                new() { Name = "EMPTY_VAR" },
                new() { Name = "EMPTY_TEST", Value = "foo-$(EMPTY_VAR)" },
                new() { Name = "POD_NAME_TEST2", Value = "test2-$(POD_NAME)" },
                new() { Name = "POD_NAME_TEST3", Value = "$(POD_NAME_TEST2)-3" },
                new() { Name = "LITERAL_TEST", Value = "literal-$(TEST_LITERAL)" },
                new() { Name = "SERVICE_VAR_TEST", Value = "$(TEST_SERVICE_HOST):$(TEST_SERVICE_PORT)" },
                new() { Name = "TEST_UNDEFINED", Value = "$(UNDEFINED_VAR)" },
            ],
        };
        var vars = Flatten(await BuildAsync("test1", links: true, container));
        Assert.Equal(
            [
                .. s_masterVars, .. s_test1Vars, "TEST_LITERAL=test-test-test", "POD_NAME=dapi-test-pod-name", "OUT_OF_ORDER_TEST=$(OUT_OF_ORDER_TARGET)",
                "OUT_OF_ORDER_TARGET=FOO", "EMPTY_VAR=", "EMPTY_TEST=foo-", "POD_NAME_TEST2=test2-dapi-test-pod-name",
                "POD_NAME_TEST3=test2-dapi-test-pod-name-3", "LITERAL_TEST=literal-test-test-test", "SERVICE_VAR_TEST=1.2.3.3:8083",
                "TEST_UNDEFINED=$(UNDEFINED_VAR)",
            ],
            vars);
    }

    [Fact]
    public async Task BuildAsync_ConfigMapEnvFrom_PrefixedAndOverriddenByEnv()
    {
        var container = new Container
        {
            EnvFrom =
            [
                new() { ConfigMapRef = new ConfigMapEnvSource { Name = "test-config-map" } },
                new() { Prefix = "p_", ConfigMapRef = new ConfigMapEnvSource { Name = "test-config-map" } },
            ],
            Env =
            [
                new() { Name = "TEST_LITERAL", Value = "test-test-test" },
                new() { Name = "EXPANSION_TEST", Value = "$(REPLACE_ME)" },
                new() { Name = "DUPE_TEST", Value = "ENV_VAR" },
            ],
        };
        var sources = Sources(configMap: TestConfigMap(new() { ["REPLACE_ME"] = "FROM_CONFIG_MAP", ["DUPE_TEST"] = "CONFIG_MAP" }));
        var vars = Flatten(await BuildAsync("test1", links: false, container, sources));
        Assert.Equal(
            [
                .. s_masterVars, "DUPE_TEST=ENV_VAR", "REPLACE_ME=FROM_CONFIG_MAP", "p_DUPE_TEST=CONFIG_MAP", "p_REPLACE_ME=FROM_CONFIG_MAP",
                "TEST_LITERAL=test-test-test", "EXPANSION_TEST=FROM_CONFIG_MAP",
            ],
            vars);
    }

    [Fact]
    public async Task BuildAsync_SecretEnvFrom_DecodedAndOverriddenByEnv()
    {
        var container = new Container
        {
            EnvFrom = [new() { SecretRef = new SecretEnvSource { Name = "test-secret" } }, new() { Prefix = "p_", SecretRef = new SecretEnvSource { Name = "test-secret" } }],
            Env = [new() { Name = "EXPANSION_TEST", Value = "$(REPLACE_ME)" }, new() { Name = "DUPE_TEST", Value = "ENV_VAR" }],
        };
        var secret = TestSecret(new() { ["REPLACE_ME"] = "FROM_SECRET", ["DUPE_TEST"] = "SECRET" });
        secret.StringData = new() { ["PLAIN"] = "written as stringData" };
        var vars = Flatten(await BuildAsync("test1", links: false, container, Sources(secret: secret)));
        Assert.Equal(
            [
                .. s_masterVars, "DUPE_TEST=ENV_VAR", "PLAIN=written as stringData", "REPLACE_ME=FROM_SECRET", "p_DUPE_TEST=SECRET",
                "p_PLAIN=written as stringData", "p_REPLACE_ME=FROM_SECRET", "EXPANSION_TEST=FROM_SECRET",
            ],
            vars);
    }

    [Fact]
    public async Task BuildAsync_EnvFromKeysStartingWithDigits_Kept()
    {
        // "configmap_invalid_keys_valid" and "configmap allow prefix to start with a digital": relaxed names since 1.30.
        var container = new Container { EnvFrom = [new() { Prefix = "1_", ConfigMapRef = new ConfigMapEnvSource { Name = "test-config-map" } }] };
        var result = await BuildAsync("test1", links: false, container, Sources(configMap: TestConfigMap(new() { ["1234"] = "abc" })));
        Assert.Equal([.. s_masterVars, "1_1234=abc"], Flatten(result));
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public async Task BuildAsync_EnvFromKeysAProcessCannotHold_SkippedWithWarning()
    {
        var container = new Container
        {
            EnvFrom = [new() { ConfigMapRef = new ConfigMapEnvSource { Name = "test-config-map" } }, new() { SecretRef = new SecretEnvSource { Name = "test-secret" } }],
        };
        var sources = Sources(
            configMap: TestConfigMap(new() { ["ok"] = "1", ["a=b"] = "2", ["z=z"] = "3" }),
            secret: TestSecret(new() { ["bin"] = "a\0b", ["fine"] = "x" }));
        var result = await BuildAsync("test1", links: false, container, sources);
        Assert.Equal([.. s_masterVars, "ok=1", "fine=x"], Flatten(result));
        Assert.Equal(
            [
                "Keys [a=b, z=z] from the EnvFrom configMap test1/test-config-map were skipped since they are considered invalid environment variable names.",
                "Keys [bin] from the EnvFrom secret test1/test-secret were skipped since their values contain a NUL byte, which a process environment cannot hold.",
            ],
            result.Warnings);
    }

    public static TheoryData<string, Container, string> FailureCases => new()
    {
        {
            "configmap_missing",
            new Container { EnvFrom = [new() { ConfigMapRef = new ConfigMapEnvSource { Name = "missing" } }] },
            "configmap \"missing\" not found"
        },
        {
            "secret_missing",
            new Container { EnvFrom = [new() { SecretRef = new SecretEnvSource { Name = "missing" } }] },
            "secret \"missing\" not found"
        },
        {
            "configmapkeyref_missing",
            new Container { Env = [new() { Name = "X", ValueFrom = new EnvVarSource { ConfigMapKeyRef = new ConfigMapKeySelector { Name = "missing", Key = "k" } } }] },
            "configmap \"missing\" not found"
        },
        {
            "configmapkeyref_missing_key",
            new Container { Env = [new() { Name = "X", ValueFrom = new EnvVarSource { ConfigMapKeyRef = new ConfigMapKeySelector { Name = "test-config-map", Key = "k" } } }] },
            "couldn't find key k in ConfigMap test1/test-config-map"
        },
        {
            "secretkeyref_missing_key",
            new Container { Env = [new() { Name = "X", ValueFrom = new EnvVarSource { SecretKeyRef = new SecretKeySelector { Name = "test-secret", Key = "k" } } }] },
            "couldn't find key k in Secret test1/test-secret"
        },
        {
            "field label not supported",
            new Container { Env = [FieldRef("X", "status.phaze")] },
            "field label not supported: status.phaze"
        },
        {
            "supported label the kubelet cannot extract",
            new Container { Env = [FieldRef("X", "spec.restartPolicy")] },
            "unsupported fieldPath: spec.restartPolicy"
        },
        {
            "resource of an unknown container",
            new Container { Env = [new() { Name = "X", ValueFrom = new EnvVarSource { ResourceFieldRef = new ResourceFieldSelector { ContainerName = "nope", Resource = "limits.cpu" } } }] },
            "container nope not found"
        },
        {
            "NUL in a literal",
            new Container { Env = [new() { Name = "X", Value = "a\0b" }] },
            "environment variable \"X\" cannot be set on a process: its value holds a NUL byte"
        },
    };

    [Theory]
    [MemberData(nameof(FailureCases))]
    public async Task BuildAsync_Failure_UpstreamMessage(string name, Container container, string message)
    {
        Assert.True(name.Length > 0);
        var sources = Sources(configMap: TestConfigMap(new() { ["a"] = "b" }), secret: TestSecret(new() { ["a"] = "b" }));
        var result = await BuildAsync("test1", links: false, container, sources);
        Assert.False(result.Succeeded);
        Assert.Equal(message, result.Message);
        Assert.Empty(result.Variables);
    }

    [Fact]
    public async Task BuildAsync_OptionalMissing_DefinesNothing()
    {
        // configmapkeyref_missing_optional, configmapkeyref_missing_key_optional, secretkeyref_missing_(key_)optional, configmap_missing_optional.
        var container = new Container
        {
            EnvFrom = [new() { ConfigMapRef = new ConfigMapEnvSource { Name = "missing", Optional = true } }, new() { SecretRef = new SecretEnvSource { Name = "missing", Optional = true } }],
            Env =
            [
                new() { Name = "A", ValueFrom = new EnvVarSource { ConfigMapKeyRef = new ConfigMapKeySelector { Name = "missing", Key = "key", Optional = true } } },
                new() { Name = "B", ValueFrom = new EnvVarSource { ConfigMapKeyRef = new ConfigMapKeySelector { Name = "test-config-map", Key = "key", Optional = true } } },
                new() { Name = "C", ValueFrom = new EnvVarSource { SecretKeyRef = new SecretKeySelector { Name = "missing", Key = "key", Optional = true } } },
                new() { Name = "D", ValueFrom = new EnvVarSource { SecretKeyRef = new SecretKeySelector { Name = "test-secret", Key = "key", Optional = true } } },
            ],
        };
        var sources = Sources(configMap: TestConfigMap(new() { ["a"] = "b" }), secret: TestSecret(new() { ["a"] = "b" }));
        Assert.Equal(s_masterVars, Flatten(await BuildAsync("test1", links: false, container, sources)));
    }

    [Fact]
    public async Task BuildAsync_KeyRefs_ReadEachObjectOnce()
    {
        var reads = 0;
        var configMap = TestConfigMap(new() { ["k"] = "v" });
        var sources = new EnvironmentSources
        {
            GetConfigMap = (_, _, _) => { reads++; return Task.FromResult<ConfigMap?>(configMap); },
            GetSecret = (_, _, _) => Task.FromResult<Secret?>(null),
        };
        var container = new Container
        {
            EnvFrom = [new() { ConfigMapRef = new ConfigMapEnvSource { Name = "test-config-map" } }],
            Env = [new() { Name = "X", ValueFrom = new EnvVarSource { ConfigMapKeyRef = new ConfigMapKeySelector { Name = "test-config-map", Key = "k" } } }],
        };
        Assert.Equal(["k=v", "X=v"], Flatten(await BuildAsync("test1", links: false, container, sources)));
        Assert.Equal(1, reads);
    }

    [Fact]
    public async Task BuildAsync_SourceThrows_FailsWithItsMessage()
    {
        var sources = new EnvironmentSources
        {
            GetConfigMap = (_, _, _) => throw new HttpRequestException("connection refused"),
            GetSecret = (_, _, _) => Task.FromResult<Secret?>(null),
        };
        var container = new Container { EnvFrom = [new() { ConfigMapRef = new ConfigMapEnvSource { Name = "x" } }] };
        var result = await BuildAsync("test1", links: false, container, sources);
        Assert.Equal("connection refused", result.Message);
    }

    public static TheoryData<string, string?, string?, string> ResourceCases => new()
    {
        // resource, divisor, limit/request of the container, expected value.
        { "limits.cpu", null, "500m", "1" },
        { "limits.cpu", "1m", "500m", "500" },
        { "limits.cpu", "1m", "0.5", "500" },
        { "limits.cpu", "100m", "250m", "3" },
        { "limits.cpu", "1", "2", "2" },
        { "limits.cpu", null, null, "4" },
        { "limits.memory", null, "128Mi", "134217728" },
        { "limits.memory", "1Mi", "128Mi", "128" },
        { "limits.memory", "1Mi", "1G", "954" },
        { "limits.memory", "1k", "1e3", "1" },
        { "limits.memory", "1Gi", null, "8" },
        { "limits.ephemeral-storage", "1Gi", null, "100" },
        { "requests.cpu", "1m", "250m", "250" },
        { "requests.memory", null, "64Mi", "67108864" },
        { "requests.memory", null, null, "0" },
    };

    [Theory]
    [MemberData(nameof(ResourceCases))]
    public async Task BuildAsync_ResourceFieldRef_RoundsUpAndDefaultsToAllocatable(string resource, string? divisor, string? quantity, string expected)
    {
        var kind = resource.Split('.')[0];
        var name = resource.Split('.')[1];
        var resources = new ResourceRequirements();
        if (quantity is not null)
        {
            (kind == "limits" ? resources.Limits = [] : resources.Requests = [])[name] = quantity;
        }

        var container = new Container
        {
            Name = "app",
            Resources = resources,
            Env = [new() { Name = "V", ValueFrom = new EnvVarSource { ResourceFieldRef = new ResourceFieldSelector { Resource = resource, Divisor = divisor } } }],
        };
        var sources = Sources();
        var result = await ContainerEnvironment.BuildAsync(NewPod("test1", false, container), container, new EnvironmentSources
        {
            GetConfigMap = sources.GetConfigMap,
            GetSecret = sources.GetSecret,
            NodeAllocatable = sources.NodeAllocatable,
        }, CancellationToken.None);
        Assert.Equal([$"V={expected}"], Flatten(result));
    }

    [Fact]
    public async Task BuildAsync_ResourceFieldRef_OtherContainerAndRequestFromLimit()
    {
        var sidecar = new Container { Name = "sidecar", Resources = new ResourceRequirements { Limits = new() { ["memory"] = "1Gi" } } };
        var app = new Container
        {
            Name = "app",
            Env = [new() { Name = "SIDECAR_MEM", ValueFrom = new EnvVarSource { ResourceFieldRef = new ResourceFieldSelector { ContainerName = "sidecar", Resource = "requests.memory", Divisor = "1Mi" } } }],
        };
        var result = await ContainerEnvironment.BuildAsync(NewPod("test1", false, app, sidecar), app, new EnvironmentSources
        {
            GetConfigMap = (_, _, _) => Task.FromResult<ConfigMap?>(null),
            GetSecret = (_, _, _) => Task.FromResult<Secret?>(null),
        }, CancellationToken.None);
        Assert.Equal(["SIDECAR_MEM=1024"], Flatten(result));
    }

    [Fact]
    public async Task BuildAsync_UnsupportedResource_UpstreamMessage()
    {
        var container = new Container { Env = [new() { Name = "V", ValueFrom = new EnvVarSource { ResourceFieldRef = new ResourceFieldSelector { Resource = "limits.gpu" } } }] };
        var result = await BuildAsync("test1", links: false, container);
        Assert.Equal("unsupported container resource : limits.gpu", result.Message);
    }
}
