#include "window/presentation.h"

#include "charts/gridheatmap.h"
#include "charts/heatmapwidget.h"
#include "charts/layercharts.h"
#include "model/presetdocument.h"
#include "window/controlpanel.h"
#include "window/mainwindow.h"
#include "work/tourcontroller.h"

#include <QAction>
#include <QChart>
#include <QChartView>
#include <QDockWidget>
#include <QFormLayout>
#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QLegend>
#include <QMenu>
#include <QMenuBar>
#include <QScreen>
#include <QStatusBar>
#include <QTabBar>
#include <QTabWidget>
#include <QTextDocument>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

namespace initscope::ui {

namespace {
QFont sized(QFont f, double pt, bool bold = false) {
    f.setPointSizeF(pt);
    f.setBold(bold);
    return f;
}

/// The plain text of a form label (it may be rich text or carry a mnemonic '&').
QString labelText(const QLabel* label) {
    QString t = label->text();
    if (Qt::mightBeRichText(t)) {
        QTextDocument doc;
        doc.setHtml(t);
        t = doc.toPlainText();
    }
    t.remove(QLatin1Char('&'));
    return t.trimmed();
}

/// Every action of `menu` and of its submenus.
void collectActions(const QMenu* menu, QList<QAction*>& out) {
    for (QAction* a : menu->actions()) {
        if (a->menu())
            collectActions(a->menu(), out);
        else if (!a->isSeparator())
            out << a;
    }
}
} // namespace

PresentationMode::PresentationMode(MainWindow* window, QTabWidget* views, ControlPanel* controls,
                                   TourController* tour)
    : QObject(window), window_(window), views_(views), controls_(controls), tour_(tour) {
    toggle_ = new QAction(tr("&Presentation mode"), this);
    toggle_->setObjectName(QStringLiteral("presentationMode"));
    toggle_->setShortcut(QKeySequence(Qt::Key_F5));
    toggle_->setCheckable(true);
    toggle_->setToolTip(tr("Full screen, large text and thick lines, only the step's controls "
                           "(F5; Esc or F5 leaves)"));
    connect(toggle_, &QAction::triggered, this, [this] { toggle(); });
    window_->addAction(toggle_); // active while the menu bar is hidden
    connect(tour_, &TourController::stepChanged, this, [this] {
        if (active_)
            showStep();
    });
    connect(tour_, &TourController::tourChanged, this, [this] {
        if (active_)
            showStep();
    });
}

PresentationMode::~PresentationMode() {
    // the lent controls go back to the panel before the bar (their parent meanwhile) is deleted
    returnControls();
}

void PresentationMode::toggle() {
    if (active_)
        leave();
    else
        enter();
}

void PresentationMode::enter() {
    if (active_)
        return;
    active_ = true;
    toggle_->setChecked(true);
    savedState_ = window_->saveState();
    savedGeometry_ = window_->saveGeometry();
    savedWindowState_ = window_->windowState();
    hiddenDocks_.clear();
    for (QDockWidget* d :
         window_->findChildren<QDockWidget*>(QString(), Qt::FindDirectChildrenOnly))
        if (!d->isHidden()) {
            hiddenDocks_.emplace_back(d);
            d->hide();
        }
    // the menus' shortcuts (view tabs, gain, undo) keep working while their bar is hidden
    borrowedActions_.clear();
    for (QAction* top : window_->menuBar()->actions())
        if (top->menu())
            collectActions(top->menu(), borrowedActions_);
    const QList<QAction*> own = window_->actions();
    for (auto it = borrowedActions_.begin(); it != borrowedActions_.end();)
        it = own.contains(*it) ? borrowedActions_.erase(it) : it + 1;
    window_->addActions(borrowedActions_);
    menuWasVisible_ = !window_->menuBar()->isHidden();
    statusWasVisible_ = !window_->statusBar()->isHidden();
    window_->menuBar()->hide();
    window_->statusBar()->hide();
    tabBarWasVisible_ = !views_->tabBar()->isHidden();
    views_->tabBar()->hide();
    if (QWidget* corner = views_->cornerWidget(Qt::TopRightCorner))
        corner->hide();

    // the bar above the views: step n/m, title, note, and the step's controls
    window_->takeCentralWidget(); // the views (unparented, kept)
    container_ = new QWidget;
    container_->setObjectName(QStringLiteral("presentationContainer"));
    auto* column = new QVBoxLayout(container_);
    column->setContentsMargins(0, 0, 0, 0);
    column->setSpacing(0);
    auto* frame = new QFrame;
    bar_ = frame;
    frame->setObjectName(QStringLiteral("presentationBar"));
    frame->setFrameShape(QFrame::StyledPanel);
    frame->setFont(sized(window_->font(), kBarTextPt));
    // "3 / 19" and the title; the note; the step's controls
    auto* rows = new QVBoxLayout(frame);
    rows->setContentsMargins(16, 6, 16, 6);
    rows->setSpacing(4);
    auto* head = new QHBoxLayout;
    head->setSpacing(16);
    step_ = new QLabel;
    step_->setObjectName(QStringLiteral("presentationStep"));
    step_->setFont(sized(frame->font(), kBarTextPt, true));
    title_ = new QLabel;
    title_->setObjectName(QStringLiteral("presentationTitle"));
    title_->setFont(sized(frame->font(), kBarTitlePt, true));
    title_->setWordWrap(true);
    head->addWidget(step_, 0, Qt::AlignBaseline);
    head->addWidget(title_, 1, Qt::AlignBaseline);
    rows->addLayout(head);
    note_ = new QLabel;
    note_->setObjectName(QStringLiteral("presentationNote"));
    note_->setWordWrap(true);
    rows->addWidget(note_);
    controlsRow_ = new QHBoxLayout;
    controlsRow_->setSpacing(32);
    controlsRow_->addStretch(1); // the controls from the left (lendControls inserts before it)
    rows->addLayout(controlsRow_);
    column->addWidget(frame);
    column->addWidget(views_, 1);
    window_->setCentralWidget(container_);
    container_->show(); // at once (the layout would show it on the next pass of the loop)
    views_->show();

    styleCharts(true);
    tour_->setArrowKeys(true);
    // the screen's size first: without a window manager (a bare X server, a kiosk) the full
    // screen request alone does not resize (and a resize after it would end it)
    if (QScreen* screen = window_->screen())
        window_->setGeometry(screen->geometry());
    window_->showFullScreen();
    showStep();
    views_->setFocus();
}

void PresentationMode::leave() {
    if (!active_)
        return;
    active_ = false;
    toggle_->setChecked(false);
    returnControls();
    tour_->setArrowKeys(false);
    styleCharts(false);
    // the views back as the central widget; the bar goes with its container
    if (container_) {
        container_->layout()->removeWidget(views_);
        QWidget* old = window_->takeCentralWidget();
        window_->setCentralWidget(views_);
        views_->show();
        delete old;
        container_ = nullptr;
        bar_ = nullptr;
        step_ = title_ = note_ = nullptr;
        controlsRow_ = nullptr;
    }
    views_->tabBar()->setVisible(tabBarWasVisible_);
    if (QWidget* corner = views_->cornerWidget(Qt::TopRightCorner))
        corner->show();
    for (QAction* a : borrowedActions_)
        window_->removeAction(a);
    borrowedActions_.clear();
    window_->menuBar()->setVisible(menuWasVisible_);
    window_->statusBar()->setVisible(statusWasVisible_);
    window_->setWindowState(savedWindowState_);
    window_->restoreGeometry(savedGeometry_);
    window_->restoreState(savedState_);
    for (const QPointer<QWidget>& d : hiddenDocks_)
        if (d)
            d->show();
    hiddenDocks_.clear();
}

void PresentationMode::showStep() {
    if (!bar_)
        return;
    returnControls();
    const TourStop* stop = tour_->currentStop();
    if (!stop) {
        // no tour: the experiment on screen, by its title
        const Preset p = window_->presetDocument()->currentPreset();
        step_->setText(QString());
        step_->setVisible(false);
        title_->setText(QString::fromStdString(p.title.empty() ? p.name : p.title));
        note_->setText(tr("Tour > Lesson tour steps through the lessons; Esc leaves."));
        return;
    }
    step_->setVisible(true);
    step_->setText(tr("%1 / %2").arg(tour_->current() + 1).arg(tour_->count()));
    title_->setText(QString::fromStdString(stop->title));
    note_->setText(QString::fromStdString(stop->note));
    note_->setVisible(!stop->note.empty());
    lendControls(stop->controls);
}

void PresentationMode::lendControls(const std::vector<std::string>& fields) {
    for (const std::string& field : fields) {
        QWidget* control = controls_->fieldControl(QString::fromStdString(field));
        if (!control || !control->parentWidget() || !control->parentWidget()->layout())
            continue; // a field without a control (in this build)
        QLayout* home = control->parentWidget()->layout();
        QString text = QString::fromStdString(field);
        if (auto* form = qobject_cast<QFormLayout*>(home))
            if (auto* l = qobject_cast<QLabel*>(form->labelForField(control)))
                text = labelText(l);
        auto* placeholder = new QWidget;
        placeholder->setObjectName(QStringLiteral("lentControlPlaceholder"));
        QLayoutItem* old = home->replaceWidget(control, placeholder);
        if (!old) {
            delete placeholder;
            continue;
        }
        delete old; // the layout item, not the control
        auto* row = new QWidget;
        row->setObjectName(QStringLiteral("presentationControl_") + QString::fromStdString(field));
        auto* layout = new QHBoxLayout(row);
        layout->setContentsMargins(0, 0, 0, 0);
        auto* label = new QLabel(text);
        layout->addWidget(label);
        layout->addWidget(control, 1);
        control->show();
        // a slider with its exact entry needs room to be dragged: the controls share the bar's
        // width with a stretch after them (one control: half, two: a third each), never
        // forcing a minimum wider than a small screen
        controlsRow_->insertWidget(controlsRow_->count() - 1, row, 1);
        row->show();
        lent_.push_back({control, placeholder, row});
    }
}

void PresentationMode::returnControls() {
    for (auto it = lent_.rbegin(); it != lent_.rend(); ++it) {
        if (it->control && it->placeholder && it->placeholder->parentWidget() &&
            it->placeholder->parentWidget()->layout()) {
            QLayout* home = it->placeholder->parentWidget()->layout();
            if (it->row)
                it->row->layout()->removeWidget(it->control);
            if (QLayoutItem* item = home->replaceWidget(it->placeholder, it->control))
                delete item;
            else
                it->control->setParent(controls_); // never deleted with the bar
            it->control->show();
        }
        delete it->placeholder.data();
        delete it->row.data();
    }
    lent_.clear();
}

std::vector<QWidget*> PresentationMode::lentControls() const {
    std::vector<QWidget*> out;
    for (const Lent& l : lent_)
        if (l.control)
            out.push_back(l.control);
    return out;
}

void PresentationMode::styleCharts(bool lecture) {
    if (!lecture) {
        for (const SavedChart& s : savedCharts_) {
            if (!s.chart)
                continue;
            s.chart->setTitleFont(s.title);
            s.chart->legend()->setFont(s.legend);
            for (const auto& [axis, fonts] : s.axes)
                if (axis) {
                    axis->setLabelsFont(fonts.first);
                    axis->setTitleFont(fonts.second);
                }
        }
        savedCharts_.clear();
        for (LayerChart* c : views_->findChildren<LayerChart*>()) {
            c->setLineScale(1.0);
            c->setTwoLineTitle(false);
        }
        for (const auto& [w, f] : savedFonts_)
            if (w)
                w->setFont(f);
        savedFonts_.clear();
        return;
    }
    savedCharts_.clear();
    savedFonts_.clear();
    // the views' own choosers and labels (the statistic, an analysis view's settings)
    savedFonts_.emplace_back(views_,
                             views_->testAttribute(Qt::WA_SetFont) ? views_->font() : QFont());
    views_->setFont(sized(views_->font(), kViewTextPt));
    // per view: a page of n panels (the NTK view: three) gives each about 1/n of the room, so
    // its text scales by 1/sqrt(n), as applyLectureStyle does for an exported figure
    for (int page = 0; page < views_->count(); ++page) {
        QWidget* w = views_->widget(page);
        const QList<QChartView*> charts = w->findChildren<QChartView*>();
        QList<QWidget*> painted;
        for (HeatmapWidget* h : w->findChildren<HeatmapWidget*>())
            painted << h;
        for (GridHeatmap* g : w->findChildren<GridHeatmap*>())
            painted << g;
        QList<QChartView*> all = charts;
        if (auto* v = qobject_cast<QChartView*>(w))
            all << v;
        if (auto* h = qobject_cast<HeatmapWidget*>(w))
            painted << h;
        const double panels = std::max<qsizetype>(1, all.size() + painted.size());
        const double scale = std::max(kMinPanelScale, 1.0 / std::sqrt(panels));
        for (QChartView* v : all) {
            QChart* c = v->chart();
            SavedChart saved{c, c->titleFont(), c->legend()->font(), {}};
            const QFont text = sized(v->font(), kChartTextPt * scale);
            c->setTitleFont(sized(v->font(), kChartTitlePt * scale, c->titleFont().bold()));
            c->legend()->setFont(text);
            for (QAbstractAxis* a : c->axes()) {
                saved.axes.push_back({a, {a->labelsFont(), a->titleFont()}});
                a->setLabelsFont(text);
                a->setTitleFont(text);
            }
            savedCharts_.push_back(std::move(saved));
            if (auto* layer = qobject_cast<LayerChart*>(v)) {
                layer->setLineScale(kLineScale);
                layer->setTwoLineTitle(true);
            }
        }
        // the heatmaps draw their text from the widget font
        for (QWidget* h : painted) {
            savedFonts_.emplace_back(h, h->testAttribute(Qt::WA_SetFont) ? h->font() : QFont());
            h->setFont(sized(h->font(), kChartTextPt * scale));
        }
    }
}

} // namespace initscope::ui
