using Berth.Api.Models;

namespace Berth.Controllers.Deployments;

/// <summary>
/// Everything a Deployment sync does to the world besides computing: API writes, the ReplicaSet cache, events and
/// requeues (upstream's clientset, rsLister, eventRecorder and queue). <see cref="DeploymentController"/> implements
/// it over KubeClient, the informers and its work queue; the unit tests record the calls, as upstream's fake clientset.
/// </summary>
internal interface IDeploymentControl
{
    Task<ReplicaSet> CreateReplicaSetAsync(ReplicaSet rs, CancellationToken ct);

    Task<ReplicaSet> UpdateReplicaSetAsync(ReplicaSet rs, CancellationToken ct);

    Task DeleteReplicaSetAsync(string ns, string name, CancellationToken ct);

    /// <summary>PUT deployments/status; the answer is not used, as upstream drops it.</summary>
    Task UpdateStatusAsync(Deployment d, CancellationToken ct);

    ReplicaSet? GetCachedReplicaSet(string ns, string name);

    void RecordEvent(Deployment d, string type, string reason, string message);

    void EnqueueAfter(Deployment d, TimeSpan delay);

    void EnqueueRateLimited(Deployment d);
}
