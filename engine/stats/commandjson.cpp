#include "stats/commandjson.h"

#include "spec/fields.h"
#include "spec/preset.h"
#include "stats/report.h"
#include "stats/statschema.h"

#include <string>

namespace initscope {

using json = nlohmann::json;

namespace {

json kernelJson(const NtkKernel& k) {
    json rows = json::array();
    for (Eigen::Index i = 0; i < k.theta.rows(); ++i) {
        json row = json::array();
        for (Eigen::Index j = 0; j < k.theta.cols(); ++j)
            row.push_back(jsonNumber(k.theta(i, j)));
        rows.push_back(row);
    }
    return rows;
}

std::string nonfiniteLayerMessage(int layer) {
    return layer == 0 ? "" : "non-finite from layer " + std::to_string(layer);
}

} // namespace

json theoryJson(const Activation& act, double sw2, double sb2, double q0, double c0,
                const meanfield::LayerTheory& lt, const meanfield::FixedPoint& fp) {
    json o;
    o["activation"] = act.name();
    o["sigma_w2"] = sw2;
    o["sigma_b2"] = sb2;
    o["q_star"] = jsonNumber(fp.qStar);
    o["c_star"] = jsonNumber(fp.cStar);
    o["chi1"] = jsonNumber(fp.chi1);
    o["xi_q"] = jsonNumber(fp.xiQ);
    o["xi_c"] = jsonNumber(fp.xiC);
    o["phase"] = meanfield::phaseName(fp.phase);
    o["input_q"] = q0;
    o["input_c"] = c0;
    o["q"] = jsonNumbers(lt.q);
    o["c"] = jsonNumbers(lt.c);
    return o;
}

json criticalJson(const Activation& act, double sb2, double sw2, const meanfield::FixedPoint& fp) {
    json o;
    o["activation"] = act.name();
    o["sigma_b2"] = sb2;
    o["sigma_w2"] = sw2;
    o["q_star"] = jsonNumber(fp.qStar);
    o["chi1"] = jsonNumber(fp.chi1);
    return o;
}

json sweepJson(const SweepAxis& axis, const NetworkSpec& spec,
               const std::vector<SweepPoint>& points, bool hist, double seconds) {
    json o;
    o["sweep"] = {{"name", axis.name}, {"from", axis.from}, {"to", axis.to}, {"steps", axis.steps}};
    o["spec"] = specToJson(spec);
    json arr = json::array();
    for (const SweepPoint& p : points) {
        json r = resultToJson(p.result, hist);
        json pt;
        pt[axis.name] = p.value;
        pt["spec"] = r["spec"];
        pt["layers"] = r["layers"];
        pt["theory"] = r["theory"];
        pt["input_grad2"] = r["input_grad2"];
        pt["first_nonfinite_layer"] = r["first_nonfinite_layer"];
        pt["message"] = r["message"];
        arr.push_back(pt);
    }
    o["points"] = arr;
    o["seconds"] = seconds;
    return o;
}

json jacobianJson(const NetworkSpec& spec, int k, const JacobianResult& r) {
    json sv = json::array(), ms = json::array(), th = json::array(), spread = json::array(),
         bad = json::array();
    for (const JacobianInput& in : r.inputs) {
        sv.push_back(jsonNumbers(in.singularValues));
        ms.push_back(jsonNumber(in.meanSq));
        th.push_back(jsonNumber(in.theoryMeanSq));
        spread.push_back(jsonNumber(in.spread));
        bad.push_back(in.firstNonfiniteLayer);
    }
    json o;
    o["spec"] = specToJson(spec);
    o["inputs"] = k;
    o["singular_values"] = sv;
    o["mean_sq"] = jsonNumber(r.meanSq);
    o["theory_mean_sq"] = jsonNumber(r.theoryMeanSq);
    o["theory_note"] = r.theoryNote;
    o["mean_sq_per_input"] = ms;
    o["theory_mean_sq_per_input"] = th;
    o["spread"] = spread;
    o["first_nonfinite_layer"] = r.firstNonfiniteLayer;
    o["first_nonfinite_layer_per_input"] = bad;
    o["message"] = nonfiniteLayerMessage(r.firstNonfiniteLayer);
    o["seconds"] = r.seconds;
    return o;
}

json ntkJson(const NetworkSpec& spec, const NtkOptions& opt, const NtkResult& r) {
    json o;
    o["spec"] = specToJson(spec);
    o["inputs"] = opt.inputs;
    o["eigenvalues"] = jsonNumbers(r.empirical.eigenvalues);
    o["condition"] = jsonNumber(r.empirical.condition);
    o["condition_by_depth"] = jsonNumbers(r.conditionByDepth);
    o["kernel"] = kernelJson(r.empirical);
    if (opt.analytic) {
        json an;
        an["applicable"] = r.analyticApplicable;
        an["note"] = r.analyticNote;
        an["eigenvalues"] = jsonNumbers(r.analytic.eigenvalues);
        an["condition"] = jsonNumber(r.analytic.condition);
        an["condition_by_depth"] = jsonNumbers(r.analyticConditionByDepth);
        an["kernel"] = kernelJson(r.analytic);
        o["analytic"] = an;
    }
    o["first_nonfinite_layer"] = r.firstNonfiniteLayer;
    o["message"] = nonfiniteLayerMessage(r.firstNonfiniteLayer);
    o["seconds"] = r.seconds;
    return o;
}

json phaseJson(const Activation& act, const PhaseDiagram& pd) {
    json chi = json::array(), xi = json::array(), crit = json::array();
    for (const PhaseRow& row : pd.rows) {
        chi.push_back(jsonNumbers(row.chi1));
        xi.push_back(jsonNumbers(row.xiC));
        crit.push_back(jsonNumber(row.criticalSigmaW2));
    }
    json o;
    o["activation"] = act.name();
    o["sigma_w2"] = pd.sigmaW2;
    o["sigma_b2"] = pd.sigmaB2;
    o["chi1"] = chi;
    o["xi_c"] = xi;
    o["critical_line"] = crit;
    o["seconds"] = pd.seconds;
    return o;
}

json ensembleJson(const NetworkSpec& spec, const EnsembleResult& e) {
    json bands;
    for (const std::string& name : layerStatisticNames()) {
        const LayerBand b = layerBand(e.runs, name);
        bands[name] = {{"mean", jsonNumbers(b.mean)}, {"min", jsonNumbers(b.min)},
                       {"max", jsonNumbers(b.max)},   {"q10", jsonNumbers(b.q10)},
                       {"q90", jsonNumbers(b.q90)},   {"finite", b.finite}};
    }
    json scalars;
    for (const std::string& name : scalarStatisticNames()) {
        std::vector<double> v;
        for (const RunResult& r : e.runs)
            v.push_back(scalarStatistic(r, name));
        scalars[name] = jsonNumbers(v);
    }
    json seeds = json::array();
    for (const RunResult& r : e.runs)
        seeds.push_back(r.spec.seed);
    json o;
    o["spec"] = specToJson(spec);
    o["seeds"] = seeds;
    o["bands"] = bands;
    o["scalars"] = scalars;
    o["seconds"] = e.seconds;
    return o;
}

json presetsJson() {
    json arr = json::array();
    for (const Preset& p : bundledPresets())
        arr.push_back({{"name", p.name}, {"title", p.title}, {"note", p.note}, {"view", p.view}});
    return arr;
}

} // namespace initscope
