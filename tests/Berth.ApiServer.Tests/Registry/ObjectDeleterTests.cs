using System.Text.Json.Nodes;
using Berth.ApiServer.Http;
using Berth.ApiServer.Registry;
using Berth.ApiServer.Resources;
using Berth.ApiServer.Tests.Allocation;

namespace Berth.ApiServer.Tests.Registry;

/// <summary>
/// A delete that read the object before someone else wrote it (a controller setting status, say) retries on the
/// fresh object, as upstream's GuaranteedUpdate does; only the caller's own preconditions can make it fail.
/// </summary>
public sealed class ObjectDeleterTests
{
    private static readonly ResourceDefinition s_configMaps = ResourceCatalog.Default.Get("", "configmaps");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Delete_FromAStaleRead_RetriesOnTheCurrentObject(bool withFinalizer)
    {
        await using var temp = await TempStore.OpenAsync();
        var objects = new ObjectStore(temp.Store);
        var deleter = new ObjectDeleter(objects, TimeProvider.System, new ObjectHooks([]));
        var stale = await objects.CreateAsync(s_configMaps, ConfigMap(withFinalizer), CancellationToken.None);
        await WriteMeanwhileAsync(objects, stale);

        var result = await deleter.DeleteAsync(s_configMaps, stale, options: null, dryRun: false, CancellationToken.None);

        var after = await objects.GetAsync(s_configMaps, "default", "cm", CancellationToken.None);
        Assert.Equal(withFinalizer, result.Pending);
        if (withFinalizer)
        {
            Assert.NotNull(Meta.String(after!.Object, "deletionTimestamp"));
            Assert.Equal("meanwhile", after.Object["data"]!["written"]!.GetValue<string>());
        }
        else
        {
            Assert.Null(after);
        }
    }

    [Fact]
    public async Task Delete_FromAStaleRead_WithAResourceVersionPrecondition_IsAConflict()
    {
        await using var temp = await TempStore.OpenAsync();
        var objects = new ObjectStore(temp.Store);
        var deleter = new ObjectDeleter(objects, TimeProvider.System, new ObjectHooks([]));
        var stale = await objects.CreateAsync(s_configMaps, ConfigMap(withFinalizer: false), CancellationToken.None);
        await WriteMeanwhileAsync(objects, stale);
        var options = new JsonObject { ["preconditions"] = new JsonObject { ["resourceVersion"] = stale.ModRevision.ToString(System.Globalization.CultureInfo.InvariantCulture) } };

        var error = await Assert.ThrowsAsync<ApiException>(() => deleter.DeleteAsync(s_configMaps, stale, options, dryRun: false, CancellationToken.None));

        Assert.Equal(409, error.Code);
        Assert.Contains("Precondition failed: ResourceVersion in precondition", error.Message, StringComparison.Ordinal);
        Assert.NotNull(await objects.GetAsync(s_configMaps, "default", "cm", CancellationToken.None));
    }

    private static JsonObject ConfigMap(bool withFinalizer)
    {
        var meta = new JsonObject { ["name"] = "cm", ["namespace"] = "default", ["uid"] = "u-1" };
        if (withFinalizer)
        {
            meta["finalizers"] = new JsonArray("example.com/hold");
        }
        return new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["metadata"] = meta };
    }

    private static async Task WriteMeanwhileAsync(ObjectStore objects, StoredObject stale)
    {
        var changed = (JsonObject)stale.Object.DeepClone();
        changed["data"] = new JsonObject { ["written"] = "meanwhile" };
        await objects.UpdateAsync(s_configMaps, changed, stale.ModRevision, CancellationToken.None);
    }
}
