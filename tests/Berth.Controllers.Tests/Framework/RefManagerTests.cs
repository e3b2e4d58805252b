using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.Framework;
using LabelSelector = Berth.Api.Selectors.LabelSelector;

namespace Berth.Controllers.Tests.Framework;

public sealed class RefManagerFixture() : ApiServerFixture("claim-");

// Ported from kubernetes pkg/controller/controller_ref_manager_test.go (TestClaimPods), against the real API server so
// the adoption and release patches are the ones the server applies.
public sealed class RefManagerTests(RefManagerFixture fixture) : IClassFixture<RefManagerFixture>
{
    private static readonly Dictionary<string, string> s_production = new() { ["type"] = "production" };
    private static readonly Dictionary<string, string> s_testing = new() { ["type"] = "testing" };
    private static readonly LabelSelector s_productionSelector = LabelSelector.FromDictionary(s_production);
    private static readonly KindInfo s_rsKind = KubeKinds.TryGet(typeof(ReplicaSet), out var kind) ? kind : throw new InvalidOperationException();

    private readonly KubeClient _client = fixture.Client;

    [Fact]
    public async Task ClaimPods_CorrectLabel_AdoptsOnlyMatchingOrphan()
    {
        var ns = await fixture.NamespaceAsync();
        var controller = Controller(ns);
        var pod1 = await CreatePodAsync(ns, "pod1", s_production, owner: null);
        var pod2 = await CreatePodAsync(ns, "pod2", s_testing, owner: null);
        var rechecks = 0;

        var claimed = await Manager(controller, () => rechecks++).ClaimAsync([pod1, pod2], CancellationToken.None);

        Assert.Equal(["pod1"], Names(claimed));
        var adopted = OwnerRefs.ControllerOf(await GetAsync(ns, "pod1"));
        Assert.NotNull(adopted);
        Assert.Equal(("apps/v1", "ReplicaSet", "rs", controller.Metadata!.Uid), (adopted.ApiVersion, adopted.Kind, adopted.Name, adopted.Uid));
        Assert.True(adopted.Controller);
        Assert.True(adopted.BlockOwnerDeletion);
        Assert.Null((await GetAsync(ns, "pod2")).Metadata!.OwnerReferences);
        Assert.Equal(1, rechecks);
    }

    [Fact]
    public async Task ClaimPods_ControllerBeingDeleted_ClaimsNothingNew()
    {
        var ns = await fixture.NamespaceAsync();
        var controller = Controller(ns, deleting: true);
        var pod1 = await CreatePodAsync(ns, "pod1", s_production, owner: null);
        var pod2 = await CreatePodAsync(ns, "pod2", s_production, owner: null);

        var claimed = await Manager(controller).ClaimAsync([pod1, pod2], CancellationToken.None);

        Assert.Empty(claimed);
        Assert.Null((await GetAsync(ns, "pod1")).Metadata!.OwnerReferences);
    }

    [Fact]
    public async Task ClaimPods_ControllerBeingDeleted_KeepsWhatItOwns()
    {
        var ns = await fixture.NamespaceAsync();
        var controller = Controller(ns, deleting: true);
        var pod1 = await CreatePodAsync(ns, "pod1", s_production, owner: controller);
        var pod2 = await CreatePodAsync(ns, "pod2", s_production, owner: null);
        // Owned but no longer matching: a controller being deleted does not release either.
        var pod3 = await CreatePodAsync(ns, "pod3", s_testing, owner: controller);

        var claimed = await Manager(controller).ClaimAsync([pod1, pod2, pod3], CancellationToken.None);

        Assert.Equal(["pod1"], Names(claimed));
        Assert.Null((await GetAsync(ns, "pod2")).Metadata!.OwnerReferences);
        Assert.NotNull(OwnerRefs.ControllerOf(await GetAsync(ns, "pod3")));
    }

    [Fact]
    public async Task ClaimPods_OwnedByAnotherController_NotClaimed()
    {
        var ns = await fixture.NamespaceAsync();
        var controller = Controller(ns);
        var other = Controller(ns);
        var pod1 = await CreatePodAsync(ns, "pod1", s_production, owner: controller);
        var pod2 = await CreatePodAsync(ns, "pod2", s_production, owner: other);

        var claimed = await Manager(controller).ClaimAsync([pod1, pod2], CancellationToken.None);

        Assert.Equal(["pod1"], Names(claimed));
        Assert.Equal(other.Metadata!.Uid, OwnerRefs.ControllerOf(await GetAsync(ns, "pod2"))!.Uid);
    }

    [Fact]
    public async Task ClaimPods_SelectorNoLongerMatches_Releases()
    {
        var ns = await fixture.NamespaceAsync();
        var controller = Controller(ns);
        var pod1 = await CreatePodAsync(ns, "pod1", s_production, owner: controller);
        var pod2 = await CreatePodAsync(ns, "pod2", s_testing, owner: controller, extraOwner: true);

        var claimed = await Manager(controller).ClaimAsync([pod1, pod2], CancellationToken.None);

        Assert.Equal(["pod1"], Names(claimed));
        // Only our reference goes ($patch: delete by uid); another owner's stays.
        var released = await GetAsync(ns, "pod2");
        Assert.Null(OwnerRefs.ControllerOf(released));
        Assert.Equal(["other"], released.Metadata!.OwnerReferences!.Select(r => r.Name));
    }

    [Fact]
    public async Task ClaimPods_OrphanMarkedForDeletion_NotAdopted()
    {
        var ns = await fixture.NamespaceAsync();
        var controller = Controller(ns);
        var pod1 = await CreatePodAsync(ns, "pod1", s_production, owner: controller);
        var pod2 = await CreatePodAsync(ns, "pod2", s_production, owner: null);
        pod1.Metadata!.DeletionTimestamp = DateTimeOffset.UtcNow;
        pod2.Metadata!.DeletionTimestamp = DateTimeOffset.UtcNow;

        var claimed = await Manager(controller).ClaimAsync([pod1, pod2], CancellationToken.None);

        Assert.Equal(["pod1"], Names(claimed));
        Assert.Null((await GetAsync(ns, "pod2")).Metadata!.OwnerReferences);
    }

    [Fact]
    public async Task ClaimPods_OrphanInAnotherNamespace_NotAdopted()
    {
        var ns = await fixture.NamespaceAsync();
        var otherNs = await fixture.NamespaceAsync();
        var controller = Controller(ns);
        var pod = await CreatePodAsync(otherNs, "pod1", s_production, owner: null);

        var claimed = await Manager(controller).ClaimAsync([pod], CancellationToken.None);

        Assert.Empty(claimed);
        Assert.Null((await GetAsync(otherNs, "pod1")).Metadata!.OwnerReferences);
    }

    [Fact]
    public async Task ClaimPods_Filter_OnlyMatchingPodsAdopted()
    {
        var ns = await fixture.NamespaceAsync();
        var controller = Controller(ns);
        var pod1 = await CreatePodAsync(ns, "pod1", s_production, owner: null);
        var pod2 = await CreatePodAsync(ns, "pod2", s_production, owner: null);

        var claimed = await Manager(controller).ClaimAsync([pod1, pod2], p => p.Metadata!.Name == "pod2", CancellationToken.None);

        Assert.Equal(["pod2"], Names(claimed));
        Assert.Null((await GetAsync(ns, "pod1")).Metadata!.OwnerReferences);
    }

    [Fact]
    public async Task ClaimPods_RecheckFindsControllerDeleted_AdoptionFailsWithUpstreamMessage()
    {
        var ns = await fixture.NamespaceAsync();
        var controller = Controller(ns);
        var pod1 = await CreatePodAsync(ns, "pod1", s_production, owner: null);
        var pod2 = await CreatePodAsync(ns, "pod2", s_production, owner: null);
        var owned = await CreatePodAsync(ns, "owned", s_production, owner: controller);
        var fresh = Controller(ns);
        fresh.Metadata!.Uid = controller.Metadata!.Uid;
        fresh.Metadata.DeletionTimestamp = new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero);
        var rechecks = 0;
        var manager = new ControllerRefManager<Pod>(_client, controller, s_productionSelector, s_rsKind,
            _ => { rechecks++; return Task.FromResult<IKubernetesObject?>(fresh); });

        var error = await Assert.ThrowsAsync<AggregateError>(() => manager.ClaimAsync([pod1, owned, pod2], CancellationToken.None));

        string Expected(Pod p) => $"can't adopt Pod {ns}/{p.Metadata!.Name} ({p.Metadata.Uid}): {ns}/rs has just been deleted at 2024-05-06 07:08:09 +0000 UTC";
        Assert.Equal([Expected(pod1), Expected(pod2)], error.InnerExceptions.Select(e => e.Message));
        Assert.Equal($"[{Expected(pod1)}, {Expected(pod2)}]", error.Message);
        // The live read happens once per manager, however many adoptions are tried.
        Assert.Equal(1, rechecks);
        Assert.Null((await GetAsync(ns, "pod1")).Metadata!.OwnerReferences);
    }

    [Fact]
    public async Task ClaimPods_RecheckFindsNewUid_AdoptionFails()
    {
        var ns = await fixture.NamespaceAsync();
        var controller = Controller(ns);
        var pod = await CreatePodAsync(ns, "pod1", s_production, owner: null);
        var replacement = Controller(ns);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            new ControllerRefManager<Pod>(_client, controller, s_productionSelector, s_rsKind, _ => Task.FromResult<IKubernetesObject?>(replacement))
                .ClaimAsync([pod], CancellationToken.None));

        Assert.Equal(
            $"can't adopt Pod {ns}/pod1 ({pod.Metadata!.Uid}): can't recheck DeletionTimestamp: original ReplicaSet {ns}/rs is gone: got uid {replacement.Metadata!.Uid}, wanted {controller.Metadata!.Uid}",
            error.Message);
    }

    [Fact]
    public async Task ClaimPods_OrphanGoneMeanwhile_IgnoredWithoutError()
    {
        var ns = await fixture.NamespaceAsync();
        var controller = Controller(ns);
        var pod = await CreatePodAsync(ns, "pod1", s_production, owner: null);
        await _client.DeleteAsync<Pod>(ns, "pod1", new DeleteOptions { GracePeriodSeconds = 0 });

        var claimed = await Manager(controller).ClaimAsync([pod], CancellationToken.None);

        Assert.Empty(claimed);
    }

    private ControllerRefManager<Pod> Manager(ReplicaSet controller, Action? onRecheck = null) =>
        new(_client, controller, s_productionSelector, s_rsKind, _ =>
        {
            onRecheck?.Invoke();
            return Task.FromResult<IKubernetesObject?>(controller);
        });

    private static ReplicaSet Controller(string ns, bool deleting = false) => new()
    {
        Metadata = new ObjectMeta
        {
            Name = "rs",
            Namespace = ns,
            Uid = Guid.NewGuid().ToString(),
            DeletionTimestamp = deleting ? DateTimeOffset.UtcNow : null,
        },
    };

    private Task<Pod> CreatePodAsync(string ns, string name, Dictionary<string, string> labels, ReplicaSet? owner, bool extraOwner = false)
    {
        var refs = new List<OwnerReference>();
        if (owner is not null)
        {
            refs.Add(OwnerRefs.NewControllerRef(owner, s_rsKind));
        }
        if (extraOwner)
        {
            refs.Add(new OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = "other", Uid = Guid.NewGuid().ToString() });
        }
        return _client.CreateAsync(new Pod
        {
            Metadata = new ObjectMeta { Name = name, Namespace = ns, Labels = new(labels), OwnerReferences = refs.Count == 0 ? null : refs },
            Spec = new PodSpec { Containers = [new Container { Name = "c", Image = "busybox" }] },
        });
    }

    private Task<Pod> GetAsync(string ns, string name) => _client.GetAsync<Pod>(ns, name);

    private static IEnumerable<string?> Names(IEnumerable<Pod> pods) => pods.Select(p => p.Metadata!.Name);
}
