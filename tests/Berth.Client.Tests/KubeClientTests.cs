using Berth.Api.Models;

namespace Berth.Client.Tests;

public sealed class KubeClientTests
{
    [Fact]
    public async Task Crud_ConfigMap_RoundTrips()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();

        var created = await client.CreateAsync(ConfigMap("crud", ("a", "1")));
        Assert.Equal("default", created.Metadata!.Namespace);
        Assert.False(string.IsNullOrEmpty(created.Metadata.Uid));

        var read = await client.GetAsync<ConfigMap>("default", "crud");
        Assert.Equal("1", read.Data!["a"]);
        read.Data["a"] = "2";
        var updated = await client.UpdateAsync(read);
        Assert.Equal("2", updated.Data!["a"]);
        Assert.NotEqual(created.Metadata.ResourceVersion, updated.Metadata!.ResourceVersion);

        var list = await client.ListAsync<ConfigMap>("default");
        Assert.Contains(list.Items, c => c.Metadata!.Name == "crud");
        Assert.False(string.IsNullOrEmpty(list.ResourceVersion));

        await client.DeleteAsync<ConfigMap>("default", "crud");
        Assert.Null(await client.TryGetAsync<ConfigMap>("default", "crud"));
    }

    [Fact]
    public async Task Get_Missing_ThrowsNotFoundWithStatusMessage()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();

        var e = await Assert.ThrowsAsync<KubeApiException>(() => client.GetAsync<ConfigMap>("default", "nope"));

        Assert.Equal(404, e.StatusCode);
        Assert.Equal("NotFound", e.Reason);
        Assert.Equal("configmaps \"nope\" not found", e.Message);
        Assert.Null(await client.TryGetAsync<ConfigMap>("default", "nope"));
    }

    [Fact]
    public async Task Create_Twice_ThrowsAlreadyExists()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();
        await client.CreateAsync(ConfigMap("dup"));

        var e = await Assert.ThrowsAsync<KubeApiException>(() => client.CreateAsync(ConfigMap("dup")));

        Assert.Equal(409, e.StatusCode);
        Assert.Equal("AlreadyExists", e.Reason);
        Assert.Equal("configmaps \"dup\" already exists", e.Message);
        Assert.Equal("AlreadyExists", e.Status!.Reason);
    }

    [Fact]
    public async Task Update_StaleResourceVersion_ThrowsConflict()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();
        var stale = await client.CreateAsync(ConfigMap("stale"));
        await client.PatchAsync<ConfigMap>("default", "stale", PatchType.Merge, """{"data":{"x":"y"}}""");

        var e = await Assert.ThrowsAsync<KubeApiException>(() => client.UpdateAsync(stale));

        Assert.Equal(409, e.StatusCode);
        Assert.Equal("Conflict", e.Reason);
        Assert.StartsWith("Operation cannot be fulfilled on configmaps \"stale\"", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_InvalidName_ThrowsInvalid()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();

        var e = await Assert.ThrowsAsync<KubeApiException>(() => client.CreateAsync(ConfigMap("Bad_Name")));

        Assert.Equal(422, e.StatusCode);
        Assert.Equal("Invalid", e.Reason);
        Assert.StartsWith("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\"", e.Message, StringComparison.Ordinal);
    }

    public static TheoryData<PatchType, string> Patches => new()
    {
        { PatchType.Merge, """{"data":{"b":"2","a":null}}""" },
        { PatchType.StrategicMerge, """{"data":{"b":"2","a":null}}""" },
        { PatchType.Json, """[{"op":"add","path":"/data/b","value":"2"},{"op":"remove","path":"/data/a"}]""" },
    };

    [Theory]
    [MemberData(nameof(Patches))]
    public async Task Patch_EachType_Applies(PatchType type, string patch)
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();
        await client.CreateAsync(ConfigMap("p", ("a", "1")));

        var patched = await client.PatchAsync<ConfigMap>("default", "p", type, patch);

        Assert.Equal(new Dictionary<string, string> { ["b"] = "2" }, patched.Data);
    }

    [Fact]
    public async Task UpdateStatus_Pod_ChangesOnlyStatus()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();
        var pod = await client.CreateAsync(Pod("st"));
        pod.Status = new PodStatus { Phase = "Running", Message = "up" };
        pod.Spec!.ActiveDeadlineSeconds = 30;

        var updated = await client.UpdateStatusAsync(pod);

        Assert.Equal("Running", updated.Status!.Phase);
        Assert.Equal("up", updated.Status.Message);
        // The status subresource ignores spec changes (upstream's status strategy resets spec).
        Assert.Null(updated.Spec!.ActiveDeadlineSeconds);
    }

    [Fact]
    public async Task Delete_WrongUidPrecondition_ThrowsConflict()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();
        await client.CreateAsync(ConfigMap("pre"));

        var e = await Assert.ThrowsAsync<KubeApiException>(() => client.DeleteAsync<ConfigMap>("default", "pre",
            new DeleteOptions { Preconditions = new Preconditions { Uid = "00000000-0000-0000-0000-000000000000" } }));

        Assert.Equal(409, e.StatusCode);
        Assert.Equal("Conflict", e.Reason);
        Assert.NotNull(await client.TryGetAsync<ConfigMap>("default", "pre"));
    }

    [Fact]
    public async Task List_LabelSelector_Filters()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();
        var web = ConfigMap("web");
        web.Metadata!.Labels = new() { ["app"] = "web" };
        await client.CreateAsync(web);
        await client.CreateAsync(ConfigMap("other"));

        var list = await client.ListAsync<ConfigMap>("default", new ListOptions(LabelSelector: "app=web"));

        Assert.Equal("web", Assert.Single(list.Items).Metadata!.Name);
    }

    [Fact]
    public async Task List_ClusterScoped_ReturnsNamespaces()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();

        var list = await client.ListAsync<Namespace>(null);

        Assert.Contains(list.Items, n => n.Metadata!.Name == "kube-system");
    }

    [Fact]
    public async Task Watch_SeesAddedModifiedDeleted()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();
        var start = await client.ListAsync<ConfigMap>("default");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var events = new List<WatchEvent<ConfigMap>>();
        var watch = Task.Run(async () =>
        {
            await foreach (var e in client.WatchAsync<ConfigMap>("default", new ListOptions(ResourceVersion: start.ResourceVersion, TimeoutSeconds: 10), cts.Token))
            {
                events.Add(e);
                if (e.Type == WatchEventType.Deleted)
                {
                    break;
                }
            }
        });

        await client.CreateAsync(ConfigMap("w"));
        await client.PatchAsync<ConfigMap>("default", "w", PatchType.Merge, """{"data":{"k":"v"}}""");
        await client.DeleteAsync<ConfigMap>("default", "w");
        await watch;

        Assert.Equal([WatchEventType.Added, WatchEventType.Modified, WatchEventType.Deleted], events.Select(e => e.Type));
        Assert.All(events, e => Assert.Equal("w", e.Object!.Metadata!.Name));
        Assert.Equal("v", events[1].Object!.Data!["k"]);
    }

    [Fact]
    public async Task Watch_CompactedResourceVersion_YieldsGoneError()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = server.NewClient();
        var first = await client.CreateAsync(ConfigMap("c1"));
        await client.CreateAsync(ConfigMap("c2"));
        var store = server.Service<Berth.Storage.IStore>();
        await store.CompactAsync(store.CurrentRevision);

        var old = (long.Parse(first.Metadata!.ResourceVersion!, System.Globalization.CultureInfo.InvariantCulture) - 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var events = new List<WatchEvent<ConfigMap>>();
        await foreach (var e in client.WatchAsync<ConfigMap>("default", new ListOptions(ResourceVersion: old, TimeoutSeconds: 5)))
        {
            events.Add(e);
        }

        var error = Assert.Single(events);
        Assert.Equal(WatchEventType.Error, error.Type);
        Assert.Equal(410, error.Error!.Code);
        Assert.Equal("Expired", error.Error.Reason);
    }

    [Fact]
    public async Task FromKubeconfig_ServersOwnFile_Connects()
    {
        await using var server = await InProcessServer.StartAsync();

        using var client = KubeClient.FromKubeconfig(server.Options.KubeconfigPath);
        var ns = await client.GetAsync<Namespace>(null, "default");

        Assert.Equal(server.Url, client.Server);
        Assert.Equal("default", ns.Metadata!.Name);
    }

    [Fact]
    public async Task WrongToken_ThrowsUnauthorized()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = new KubeClient(new KubeClientOptions { Server = server.Url, Token = "wrong", CertificateAuthority = server.Credentials.CaCertificate });

        var e = await Assert.ThrowsAsync<KubeApiException>(() => client.GetAsync<Namespace>(null, "default"));

        Assert.Equal(401, e.StatusCode);
        Assert.Equal("Unauthorized", e.Reason);
    }

    internal static ConfigMap ConfigMap(string name, params (string Key, string Value)[] data) => new()
    {
        ApiVersion = "v1",
        Kind = "ConfigMap",
        Metadata = new ObjectMeta { Name = name },
        Data = data.Length == 0 ? null : data.ToDictionary(d => d.Key, d => d.Value),
    };

    internal static Pod Pod(string name) => new()
    {
        ApiVersion = "v1",
        Kind = "Pod",
        Metadata = new ObjectMeta { Name = name, Namespace = "default" },
        Spec = new PodSpec { Containers = [new Container { Name = "c", Image = "busybox" }] },
    };
}
