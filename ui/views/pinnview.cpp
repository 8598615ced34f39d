#include "views/pinnview.h"

#include "charts/viewcharts.h"
#include "core/cost.h"

#include <QChart>
#include <QChartView>
#include <QDoubleSpinBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

namespace initscope::ui {

namespace {

QString slopeText(double s) {
    return std::isfinite(s) ? QString::number(s, 'f', 2) : QStringLiteral("\u2014");
}

/// u on the G x G grid as a diverging heatmap, white at 0, symmetric range (rendered off the GUI
/// thread: a QImage is a value).
GridImage uImage(const std::vector<double>& u, int G, const QString& colorLabel) {
    GridImage g;
    if (G < 2 || u.size() != static_cast<std::size_t>(G) * G)
        return g;
    double m = 0;
    for (double v : u)
        if (std::isfinite(v))
            m = std::max(m, std::abs(v));
    if (!(m > 0))
        m = 1;
    g.vMin = -m;
    g.vMax = m;
    g.vCentre = 0;
    g.divergingMap = true;
    const double h = 0.5 / (G - 1);
    g.xLeft = -h;
    g.xRight = 1 + h;
    g.yTop = 1 + h;
    g.yBottom = -h;
    g.xLabel = QObject::tr("x");
    g.yLabel = QObject::tr("t");
    g.colorLabel = colorLabel;
    g.valueKey = QStringLiteral("u");
    g.image = QImage(G, G, QImage::Format_RGB32);
    g.values.resize(static_cast<std::size_t>(G) * G);
    for (int row = 0; row < G; ++row) {
        const int i = G - 1 - row; // t increases upwards
        for (int j = 0; j < G; ++j) {
            const double v = u[static_cast<std::size_t>(i * G + j)];
            g.values[static_cast<std::size_t>(row * G + j)] = v;
            g.image.setPixel(j, row, std::isfinite(v) ? diverging(g.fraction(v)) : qRgb(0, 0, 0));
        }
    }
    return g;
}

const char* const kLawKeys[3] = {"rms_residual", "grad_residual", "grad_loss"};

} // namespace

PinnView::PinnView(QWidget* parent) : QWidget(parent) {
    const PinnSpec d;
    from_ = new QDoubleSpinBox;
    to_ = new QDoubleSpinBox;
    for (QDoubleSpinBox* s : {from_, to_}) {
        s->setDecimals(4);
        s->setRange(1e-4, PinnSpec::kMaxSpeed);
    }
    from_->setObjectName(QStringLiteral("pinnFrom"));
    to_->setObjectName(QStringLiteral("pinnTo"));
    points_ = new QSpinBox;
    points_->setRange(2, PinnSpec::kMaxSpeeds);
    collocation_ = new QSpinBox;
    collocation_->setRange(1, PinnSpec::kMaxCollocation);
    collocation_->setToolTip(tr("Collocation points M, uniform in the unit square (t, x)."));
    steps_ = new QSpinBox;
    steps_->setObjectName(QStringLiteral("pinnSteps"));
    steps_->setRange(0, PinnSpec::kMaxTrainSteps);
    steps_->setToolTip(tr("Training steps at each of the two speeds (0: the measurement only)."));
    small_ = new QDoubleSpinBox;
    large_ = new QDoubleSpinBox;
    for (QDoubleSpinBox* s : {small_, large_}) {
        s->setDecimals(3);
        s->setRange(-PinnSpec::kMaxSpeed, PinnSpec::kMaxSpeed);
    }
    start_ = new QPushButton(tr("Run"));
    start_->setObjectName(QStringLiteral("pinnStart"));
    stop_ = new QPushButton(tr("Cancel"));
    stop_->setObjectName(QStringLiteral("pinnStop"));
    stop_->setEnabled(false);
    progress_ = new QProgressBar;
    progress_->setObjectName(QStringLiteral("pinnProgress"));
    summary_ = new QLabel;
    summary_->setWordWrap(true);
    PinnSpec p = d; // a first look that takes seconds, not minutes; presets ask for more
    p.speeds = 7;
    p.collocation = 128;
    p.trainSteps = 100;
    p.trainSpeeds = {1, 30};
    setSettings(p);

    auto* row1 = new QHBoxLayout;
    row1->addWidget(new QLabel(tr("wave speed c from")));
    row1->addWidget(from_);
    row1->addWidget(new QLabel(tr("to")));
    row1->addWidget(to_);
    row1->addWidget(new QLabel(tr("points (log grid)")));
    row1->addWidget(points_);
    row1->addWidget(new QLabel(tr("collocation M")));
    row1->addWidget(collocation_);
    row1->addStretch(1);
    auto* row2 = new QHBoxLayout;
    row2->addWidget(new QLabel(tr("train steps")));
    row2->addWidget(steps_);
    row2->addWidget(new QLabel(tr("at small c")));
    row2->addWidget(small_);
    row2->addWidget(new QLabel(tr("and large c")));
    row2->addWidget(large_);
    row2->addStretch(1);
    auto* row3 = new QHBoxLayout; // a row of its own: the window must fit a 1280 x 720 projector
    row3->addWidget(start_);
    row3->addWidget(stop_);
    row3->addWidget(progress_, 1);

    lawView_ = charts::makeView(tr("At init against the wave speed c"));
    lawView_->setObjectName(QStringLiteral("pinnLaw"));
    QChart* lc = lawView_->chart();
    lawX_ = charts::logAxis(lc, tr("wave speed c (log)"), Qt::AlignBottom);
    lawY_ = charts::logAxis(lc, tr("value (log)"), Qt::AlignLeft);
    for (int k = 0; k < 3; ++k) {
        law_[k] = charts::addLine(lc, QString(), charts::color(k), false, lawX_, lawY_);
        law_[k]->setObjectName(QString::fromLatin1(kLawKeys[k])); // CSV key
    }
    charts::lineLegend(lc);
    charts::restyle(lawView_);

    trainView_ = charts::makeView(tr("Training: loss against step"));
    trainView_->setObjectName(QStringLiteral("pinnTraining"));
    QChart* tc = trainView_->chart();
    trainX_ = charts::valueAxis(tc, tr("step"), Qt::AlignBottom, QStringLiteral("%.0f"));
    trainY_ = charts::logAxis(tc, tr("loss: mean r\u00b2 + IC + BC (log)"), Qt::AlignLeft);
    for (int k = 0; k < 2; ++k) {
        curves_[k] = charts::addLine(tc, QString(), charts::color(k + 3), false, trainX_, trainY_);
        curves_[k]->setObjectName(k == 0 ? QStringLiteral("loss_small_c")
                                         : QStringLiteral("loss_large_c"));
    }
    charts::lineLegend(tc);
    charts::restyle(trainView_);

    const QString titles[3] = {tr("u(t, x) at init"), tr("u after training, small c"),
                               tr("u after training, large c")};
    const QString names[3] = {QStringLiteral("pinnUInit"), QStringLiteral("pinnUSmall"),
                              QStringLiteral("pinnULarge")};
    for (int k = 0; k < 3; ++k) {
        maps_[k] = new GridHeatmap(titles[k]);
        maps_[k]->setObjectName(names[k]);
        maps_[k]->setMinimumSize(200, 180);
    }

    auto* grid = new QGridLayout;
    grid->addWidget(lawView_, 0, 0, 1, 3);
    grid->addWidget(trainView_, 0, 3, 1, 3);
    for (int k = 0; k < 3; ++k)
        grid->addWidget(maps_[k], 1, 2 * k, 1, 2);
    grid->setRowStretch(0, 3);
    grid->setRowStretch(1, 2);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(row1);
    layout->addLayout(row2);
    layout->addLayout(row3);
    layout->addWidget(summary_);
    layout->addLayout(grid, 1);

    restart_.setSingleShot(true);
    restart_.setInterval(300);
    connect(&restart_, &QTimer::timeout, this, &PinnView::start);
    connect(start_, &QPushButton::clicked, this, &PinnView::start);
    connect(stop_, &QPushButton::clicked, this, &PinnView::stop);
    summary_->setText(tr("Run: the residual r = du/dt + c du/dx of u(t, x) = MLP([t, x]) at "
                         "init, then training with u(0, x) = sin 2\u03c0x and periodic x."));
    draw();
}

PinnView::~PinnView() = default;

void PinnView::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    if (stale_)
        restart_.start();
}

void PinnView::setSettings(const PinnSpec& p) {
    base_ = p;
    from_->setValue(p.speedFrom);
    to_->setValue(p.speedTo);
    points_->setValue(p.speeds);
    collocation_->setValue(p.collocation);
    steps_->setValue(p.trainSteps);
    const std::vector<double> ts =
        p.trainSpeeds.empty() ? std::vector<double>{p.speedFrom, p.speedTo} : p.trainSpeeds;
    small_->setValue(ts.front());
    large_->setValue(ts.size() > 1 ? ts[1] : ts.front());
    stale_ = true;
    if (isVisible())
        restart_.start();
}

PinnSpec PinnView::settings() const {
    PinnSpec p = base_;
    p.speedFrom = from_->value();
    p.speedTo = to_->value();
    p.speeds = points_->value();
    p.collocation = collocation_->value();
    p.trainSteps = steps_->value();
    p.trainSpeeds = {small_->value(), large_->value()};
    return p;
}

NetworkSpec PinnView::pinnSpec() const {
    NetworkSpec s = spec_;
    s.inputDim = 2; // the input is (t, x)
    return s;
}

void PinnView::setSpec(const NetworkSpec& spec) {
    if (spec == spec_ && !stale_)
        return;
    spec_ = spec;
    stale_ = true;
    if (isVisible())
        restart_.start();
}

QString PinnView::summaryText() const {
    return summary_->text();
}

void PinnView::showSameAs(const PinnView& other) {
    const QSignalBlocker a(from_), b(to_), c(points_), d(collocation_), e(steps_), f(small_),
        g(large_);
    base_ = other.base_;
    from_->setValue(other.from_->value());
    to_->setValue(other.to_->value());
    points_->setValue(other.points_->value());
    collocation_->setValue(other.collocation_->value());
    steps_->setValue(other.steps_->value());
    small_->setValue(other.small_->value());
    large_->setValue(other.large_->value());
    spec_ = other.spec_;
    result_ = other.result_;
    images_ = other.images_;
    stale_ = false; // the copy does not compute
    summary_->setText(other.summary_->text());
    draw();
}

QString PinnView::problems() const {
    const NetworkSpec spec = pinnSpec();
    std::vector<SpecError> errors = validate(spec);
    for (auto& e : validatePinn(spec, settings()))
        errors.push_back(std::move(e));
    return QString::fromStdString(firstMessage(errors));
}

void PinnView::start() {
    restart_.stop();
    const NetworkSpec spec = pinnSpec();
    const PinnSpec p = settings();
    stale_ = false;
    if (const QString problem = problems(); !problem.isEmpty()) {
        summary_->setText(tr("Not run: %1").arg(problem));
        return;
    }
    const QString duration = QString::fromStdString(formatDuration(estimatePinnSeconds(spec, p)));
    const int total = p.speeds + 2 * (p.trainSteps > 0 ? p.trainSteps + 1 : 0);
    progress_->setRange(0, total);
    progress_->setValue(0);
    progress_->setFormat(tr("%v / %m (%1 in all)").arg(duration));
    start_->setEnabled(false);
    stop_->setEnabled(true);
    summary_->setText(tr("Measuring %1 speeds and training %2 steps at c = %3 and %4, "
                         "estimated %5...")
                          .arg(p.speeds)
                          .arg(p.trainSteps)
                          .arg(small_->value())
                          .arg(large_->value())
                          .arg(duration));
    worker_.submit([this, spec, p](quint64 gen, std::atomic<bool>& cancel) {
        try {
            auto lastPost = std::chrono::steady_clock::now();
            PinnResult r = runPinn(spec, p, &cancel, [&](int done, int all) {
                const auto now = std::chrono::steady_clock::now();
                if (done < all && now - lastPost < std::chrono::milliseconds(100))
                    return; // at most ten updates a second
                lastPost = now;
                worker_.post(gen, [this, done] { progress_->setValue(done); });
            });
            if (r.cancelled)
                return;
            Images im;
            const int G = p.grid;
            im.maps[0] = uImage(r.uInit, G, tr("u"));
            for (std::size_t k = 0; k < 2 && k < r.runs.size(); ++k)
                im.maps[k + 1] = uImage(r.runs[k].u, G, tr("u"));
            worker_.post(gen, [this, r = std::move(r), im = std::move(im)]() mutable {
                result_ = std::move(r);
                images_ = std::move(im);
                progress_->setValue(progress_->maximum());
                start_->setEnabled(true);
                stop_->setEnabled(false);
                draw();
                emit resultShown();
                emit finished(true);
            });
        } catch (const std::exception& e) {
            const QString m = QString::fromUtf8(e.what());
            worker_.post(gen, [this, m] {
                summary_->setText(tr("Failed: %1").arg(m));
                start_->setEnabled(true);
                stop_->setEnabled(false);
                emit finished(false);
            });
        }
    });
}

void PinnView::stop() {
    restart_.stop();
    worker_.cancel();
    start_->setEnabled(true);
    stop_->setEnabled(false);
    summary_->setText(
        tr("Cancelled at %1 of %2.").arg(progress_->value()).arg(progress_->maximum()));
    emit finished(false);
}

void PinnView::draw() {
    // |grad_theta mean r| and |grad_theta mean r^2|, short for the legend's one row
    const QString names[3] = {tr("rms r"), tr("|\u2207 mean r|"), tr("|\u2207 mean r\u00b2|")};
    if (!result_) {
        for (int k = 0; k < 3; ++k) {
            law_[k]->setName(names[k]);
            charts::setPoints(law_[k], {});
        }
        for (auto* c : curves_)
            charts::setPoints(c, {});
        return;
    }
    const PinnResult& r = *result_;
    std::vector<double> ys, xs;
    const double sl[3] = {r.slopeLarge.rmsResidual, r.slopeLarge.gradResidual,
                          r.slopeLarge.gradLoss};
    const double sa[3] = {r.slopeAll.rmsResidual, r.slopeAll.gradResidual, r.slopeAll.gradLoss};
    for (int k = 0; k < 3; ++k) {
        QList<QPointF> pts;
        for (const PinnPoint& p : r.points) {
            const double y = k == 0 ? p.rmsResidual : k == 1 ? p.gradResidual : p.gradLoss;
            if (y > 0 && std::isfinite(y) && p.c > 0) {
                pts.append({p.c, y});
                ys.push_back(y);
                xs.push_back(p.c);
            }
        }
        charts::setPoints(law_[k], pts, true);
        // short enough for the legend's one row (the slopes over the whole range are in the
        // summary above the charts)
        law_[k]->setName(tr("%1 ~ c^%2").arg(names[k], slopeText(sl[k])));
    }
    charts::fitLog(lawX_, xs);
    charts::fitLog(lawY_, ys);

    std::vector<double> ls;
    QString errors; // rms error against the exact solution, init -> trained, per run
    int maxStep = 1;
    for (std::size_t k = 0; k < 2; ++k) {
        QList<QPointF> pts;
        if (k < r.runs.size()) {
            const PinnTrainRun& t = r.runs[k];
            for (std::size_t s = 0; s < t.loss.size(); ++s)
                if (t.loss[s] > 0 && std::isfinite(t.loss[s])) {
                    pts.append({static_cast<double>(s), t.loss[s]});
                    ls.push_back(t.loss[s]);
                }
            maxStep = std::max(maxStep, static_cast<int>(t.loss.size()) - 1);
            curves_[k]->setName(tr("c = %1: %2 \u2192 %3")
                                    .arg(t.c)
                                    .arg(t.loss.front(), 0, 'g', 3)
                                    .arg(t.loss.back(), 0, 'g', 3));
            errors += tr("%1c = %2: %3 \u2192 %4")
                          .arg(errors.isEmpty() ? QString() : QStringLiteral(", "))
                          .arg(t.c)
                          .arg(t.errorRmsInit, 0, 'g', 2)
                          .arg(t.errorRms, 0, 'g', 2);
        }
        charts::setPoints(curves_[k], pts);
    }
    charts::integerTicks(trainX_, 0, maxStep, 6);
    trainX_->setRange(0, maxStep);
    charts::fitLog(trainY_, ls);

    for (int k = 0; k < 3; ++k) {
        maps_[k]->setGrid(images_.maps[k]);
        if (k > 0 && static_cast<std::size_t>(k - 1) < r.runs.size())
            maps_[k]->setTitle(tr("u after %1 steps, c = %2")
                                   .arg(r.pinn.trainSteps)
                                   .arg(r.runs[static_cast<std::size_t>(k - 1)].c));
    }
    summary_->setText(
        tr("At init (%1, %2 layers of %3, %4): rms r, ||\u2207 mean r|| grow as |c|^%5, "
           "|c|^%6 and the loss gradient as |c|^%7 for c \u2265 10 (%8, %9 and %10 over the "
           "whole range): r = u_t + c u_x is linear in c, so the loss gradient follows "
           "c\u00b2, not |c|. Training: Adam/SGD on mean r\u00b2 + IC u(0, x) = sin 2\u03c0x "
           "+ periodic x; rms error against the exact u, init \u2192 trained: %11 (%12 s).")
            .arg(QString::fromStdString(initSchemeName(r.spec.init)))
            .arg(r.spec.depth)
            .arg(r.spec.width)
            .arg(QString::fromStdString(activationName(r.spec.activation)))
            .arg(slopeText(sl[0]), slopeText(sl[1]), slopeText(sl[2]))
            .arg(slopeText(sa[0]), slopeText(sa[1]), slopeText(sa[2]))
            .arg(errors.isEmpty() ? tr("no training runs") : errors)
            .arg(r.seconds, 0, 'f', 1));
}

} // namespace initscope::ui
