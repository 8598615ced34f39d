#include "work/tourcontroller.h"

#include "export/filewrite.h"
#include "export/tourexport.h"
#include "model/presetdocument.h"
#include "model/presetio.h"
#include "window/mainwindow.h"

#include <QAction>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMenu>
#include <QMessageBox>
#include <QProgressDialog>
#include <QPushButton>
#include <QStatusBar>
#include <QTabWidget>
#include <QVBoxLayout>

#include <algorithm>

namespace initscope::ui {

bool readTourAndStops(const QString& path, Tour* tour, std::vector<TourStop>* stops,
                      QString* error) {
    const TourParse parsed = readTourFile(QFile::encodeName(path).toStdString());
    if (!parsed.tour) {
        if (error)
            *error = presetErrorMessage(path, parsed.errors);
        return false;
    }
    const TourResolve resolved =
        resolveTour(*parsed.tour, QFile::encodeName(QFileInfo(path).absolutePath()).toStdString());
    if (!resolved.errors.empty()) {
        if (error)
            *error = presetErrorMessage(path, resolved.errors);
        return false;
    }
    if (tour)
        *tour = *parsed.tour;
    if (stops)
        *stops = resolved.stops;
    return true;
}

bool saveTour(const Tour& tour, const QString& path, QString* error) {
    return writeFileReplacing(path, QByteArray::fromStdString(tourToJson(tour)), error);
}

bool isTourFile(const QString& path) {
    if (!path.endsWith(QLatin1String(".json"), Qt::CaseInsensitive))
        return false;
    QFile f(path);
    if (f.size() > static_cast<qint64>(kMaxTourBytes) || !f.open(QIODevice::ReadOnly))
        return false;
    return looksLikeTour(f.readAll().toStdString());
}

TourController::TourController(MainWindow* window) : QObject(window), window_(window) {
    next_ = new QAction(tr("&Next step"), this);
    next_->setObjectName(QStringLiteral("tourNext"));
    next_->setShortcut(QKeySequence(Qt::Key_PageDown));
    previous_ = new QAction(tr("&Previous step"), this);
    previous_->setObjectName(QStringLiteral("tourPrevious"));
    previous_->setShortcut(QKeySequence(Qt::Key_PageUp));
    nextArrow_ = new QAction(tr("Next step (arrow)"), this);
    nextArrow_->setShortcut(QKeySequence(Qt::Key_Right));
    previousArrow_ = new QAction(tr("Previous step (arrow)"), this);
    previousArrow_->setShortcut(QKeySequence(Qt::Key_Left));
    connect(next_, &QAction::triggered, this, [this] { next(); });
    connect(nextArrow_, &QAction::triggered, this, [this] { next(); });
    connect(previous_, &QAction::triggered, this, [this] { previous(); });
    connect(previousArrow_, &QAction::triggered, this, [this] { previous(); });
    // on the window, so that they work with the menu bar hidden (presentation mode)
    window_->addActions({next_, previous_, nextArrow_, previousArrow_});
    nextArrow_->setEnabled(false);
    previousArrow_->setEnabled(false);

    panel_ = new TourPanel(this);
    dock_ = new QDockWidget(tr("Tour"));
    dock_->setObjectName(QStringLiteral("tourDock"));
    dock_->setWidget(panel_);
    dock_->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable |
                       QDockWidget::DockWidgetClosable);
    window_->addDockWidget(Qt::RightDockWidgetArea, dock_);
    dock_->hide(); // shown when a tour starts
    updateActions();
}

const TourStop* TourController::currentStop() const {
    if (current_ < 0 || current_ >= count())
        return nullptr;
    return &stops_[static_cast<std::size_t>(current_)];
}

void TourController::startLessonTour() {
    const Tour& t = bundledTour();
    TourResolve r = resolveTour(t, std::string());
    setTour(t, std::move(r.stops), QString());
}

bool TourController::openFile(const QString& path) {
    lastError_.clear();
    Tour t;
    std::vector<TourStop> stops;
    QString message;
    if (!readTourAndStops(path, &t, &stops, &message)) {
        error(tr("Cannot open the tour %1").arg(QFileInfo(path).fileName()), message);
        return false;
    }
    setTour(t, std::move(stops), QFileInfo(path).absoluteFilePath());
    return true;
}

void TourController::setTour(const Tour& tour, std::vector<TourStop> stops, const QString& file,
                             int first) {
    tour_ = tour;
    stops_ = std::move(stops);
    file_ = file;
    current_ = -1;
    dock_->show();
    dock_->raise();
    emit tourChanged();
    updateActions();
    if (!stops_.empty())
        goTo(std::clamp(first, 0, count() - 1));
}

bool TourController::goTo(int index) {
    if (index < 0 || index >= count())
        return false;
    current_ = index;
    const TourStop& stop = stops_[static_cast<std::size_t>(index)];
    // one undo step; the run goes through the window's RunController
    window_->presetDocument()->applyPreset(stop.preset);
    updateActions();
    emit stepChanged(index);
    window_->statusBar()->showMessage(
        tr("Step %1 of %2: %3").arg(index + 1).arg(count()).arg(QString::fromStdString(stop.title)),
        6000);
    return true;
}

bool TourController::next() {
    return goTo(current_ + 1);
}

bool TourController::previous() {
    return goTo(current_ - 1);
}

bool TourController::saveAs(const QString& path, QString* error) {
    if (stops_.empty()) {
        if (error)
            *error = tr("There is no tour to save.");
        return false;
    }
    Tour t = tour_;
    if (!file_.isEmpty() && QFileInfo(path).absolutePath() != QFileInfo(file_).absolutePath()) {
        // file steps are relative to the tour's folder: keep them pointing at the same files
        const QDir from = QFileInfo(file_).absoluteDir(), to = QFileInfo(path).absoluteDir();
        for (TourStep& s : t.steps)
            if (s.source == TourStep::Source::File)
                s.preset = QDir::fromNativeSeparators(to.relativeFilePath(from.absoluteFilePath(
                                                          QString::fromStdString(s.preset))))
                               .toStdString();
    }
    if (!saveTour(t, path, error))
        return false;
    tour_ = std::move(t);
    file_ = QFileInfo(path).absoluteFilePath();
    return true;
}

int TourController::addCurrentExperiment(const QString& note) {
    if (stops_.empty()) {
        tour_ = Tour{};
        tour_.title = tr("My tour").toStdString();
        file_.clear();
    }
    const Preset p = window_->presetDocument()->currentPreset();
    TourStep s;
    s.source = TourStep::Source::Inline;
    s.inlinePreset = p;
    s.note = note.toStdString();
    tour_.steps.push_back(s);
    TourStop stop;
    stop.preset = p;
    stop.title = p.title.empty() ? p.name : p.title;
    stop.note = s.note;
    stops_.push_back(stop);
    current_ = count() - 1;
    dock_->show();
    emit tourChanged();
    updateActions();
    emit stepChanged(current_);
    return current_;
}

bool TourController::removeStep(int index) {
    if (index < 0 || index >= count())
        return false;
    tour_.steps.erase(tour_.steps.begin() + index);
    stops_.erase(stops_.begin() + index);
    if (current_ >= count())
        current_ = count() - 1;
    emit tourChanged();
    updateActions();
    if (current_ >= 0)
        emit stepChanged(current_);
    return true;
}

void TourController::setArrowKeys(bool on) {
    nextArrow_->setEnabled(on && current_ + 1 < count());
    previousArrow_->setEnabled(on && current_ > 0);
    arrows_ = on;
}

void TourController::updateActions() {
    next_->setEnabled(current_ + 1 < count());
    previous_->setEnabled(current_ > 0);
    nextArrow_->setEnabled(arrows_ && next_->isEnabled());
    previousArrow_->setEnabled(arrows_ && previous_->isEnabled());
    if (save_)
        save_->setEnabled(isActive());
    if (export_)
        export_->setEnabled(isActive());
}

void TourController::addMenu(QMenu* menu) {
    QAction* lesson = menu->addAction(tr("&Lesson tour"), this, [this] { startLessonTour(); });
    lesson->setObjectName(QStringLiteral("lessonTour"));
    lesson->setToolTip(tr("The lessons in order, from symmetry to residual networks"));
    menu->addAction(tr("&Open tour..."), this, [this] { openDialog(); });
    save_ = menu->addAction(tr("&Save tour as..."), this, [this] { saveDialog(); });
    menu->addAction(tr("&Add this experiment as a step"), this, [this] {
        bool ok = false;
        const QString note =
            QInputDialog::getText(window_, tr("Add a step"), tr("A short note for the step:"),
                                  QLineEdit::Normal, QString(), &ok);
        if (ok)
            addCurrentExperiment(note);
    });
    menu->addAction(tr("&Remove this step"), this, [this] { removeStep(current_); });
    export_ = menu->addAction(tr("E&xport tour as figures..."), this, [this] { exportDialog(); });
    menu->addSeparator();
    menu->addAction(next_);
    menu->addAction(previous_);
    QAction* show = dock_->toggleViewAction();
    show->setText(tr("Show tour s&teps"));
    menu->addAction(show);
    updateActions();
}

void TourController::error(const QString& title, const QString& text) {
    lastError_ = text;
    if (dialogs_)
        QMessageBox::warning(window_, title, text);
}

void TourController::openDialog() {
    const QString path = QFileDialog::getOpenFileName(window_, tr("Open a tour"), QString(),
                                                      tr("initscope tours (*.json)"));
    if (!path.isEmpty())
        openFile(path);
}

void TourController::saveDialog() {
    QString path = QFileDialog::getSaveFileName(
        window_, tr("Save the tour"),
        file_.isEmpty() ? QDir::home().filePath(QStringLiteral("tour.json")) : file_,
        tr("initscope tours (*.json)"));
    if (path.isEmpty())
        return;
    if (!path.endsWith(QLatin1String(".json"), Qt::CaseInsensitive))
        path += QStringLiteral(".json");
    QString message;
    if (!saveAs(path, &message))
        error(tr("Cannot save the tour"), message);
    else
        window_->statusBar()->showMessage(tr("Saved the tour to %1").arg(path), 6000);
}

void TourController::exportDialog() {
    if (stops_.empty())
        return;
    const QString dir = QFileDialog::getExistingDirectory(window_, tr("Export the tour into"));
    if (dir.isEmpty())
        return;
    bool ok = false;
    const QString format = QInputDialog::getItem(
        window_, tr("Export the tour"), tr("Format of the figures:"),
        {QStringLiteral("png"), QStringLiteral("svg"), QStringLiteral("pdf")}, 0, false, &ok);
    if (!ok)
        return;
    auto* exporter = new TourExporter(QString::fromStdString(tour_.title), stops_, dir, format,
                                      FigureOptions{}, this);
    auto* progress =
        new QProgressDialog(tr("Exporting the tour..."), tr("Cancel"), 0, count(), window_);
    progress->setWindowModality(Qt::WindowModal);
    progress->setMinimumDuration(0);
    connect(exporter, &TourExporter::progress, progress,
            [progress](int done, int, const QString&) { progress->setValue(done); });
    connect(progress, &QProgressDialog::canceled, exporter, &TourExporter::cancel);
    connect(exporter, &TourExporter::finished, this,
            [this, exporter, progress, dir](bool success, const QString& message) {
                progress->deleteLater();
                exporter->deleteLater();
                if (success)
                    window_->statusBar()->showMessage(
                        tr("Exported the tour to %1 (index.html)").arg(dir), 8000);
                else if (message != QLatin1String("cancelled"))
                    error(tr("Export failed"), message);
            });
    exporter->start();
}

// ---- the dock

TourPanel::TourPanel(TourController* tour, QWidget* parent) : QWidget(parent), tour_(tour) {
    auto* layout = new QVBoxLayout(this);
    title_ = new QLabel;
    title_->setObjectName(QStringLiteral("tourTitle"));
    title_->setWordWrap(true);
    QFont bold = title_->font();
    bold.setBold(true);
    title_->setFont(bold);
    layout->addWidget(title_);
    list_ = new QListWidget;
    list_->setObjectName(QStringLiteral("tourSteps"));
    list_->setWordWrap(true); // the titles are sentences
    list_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    layout->addWidget(list_, 1);
    note_ = new QLabel;
    note_->setObjectName(QStringLiteral("tourNote"));
    note_->setWordWrap(true);
    layout->addWidget(note_);
    auto* buttons = new QHBoxLayout;
    previous_ = new QPushButton(tr("\u2190 Previous"));
    next_ = new QPushButton(tr("Next \u2192"));
    buttons->addWidget(previous_);
    buttons->addWidget(next_);
    layout->addLayout(buttons);
    connect(previous_, &QPushButton::clicked, tour_, [this] { tour_->previous(); });
    connect(next_, &QPushButton::clicked, tour_, [this] { tour_->next(); });
    // choosing a step (a click, the arrow keys in the list) jumps to it
    connect(list_, &QListWidget::currentRowChanged, this, [this](int row) {
        if (row >= 0 && row != tour_->current())
            tour_->goTo(row);
    });
    connect(tour_, &TourController::tourChanged, this, &TourPanel::fill);
    connect(tour_, &TourController::stepChanged, this, &TourPanel::showStep);
    fill();
}

void TourPanel::fill() {
    title_->setText(QString::fromStdString(tour_->tour().title));
    list_->clear();
    for (int i = 0; i < tour_->count(); ++i) {
        const TourStop& s = tour_->stops()[static_cast<std::size_t>(i)];
        auto* item = new QListWidgetItem(
            QStringLiteral("%1. %2").arg(i + 1).arg(QString::fromStdString(s.title)));
        item->setToolTip(QString::fromStdString(s.note));
        list_->addItem(item);
    }
    showStep(tour_->current());
}

void TourPanel::showStep(int index) {
    if (index >= 0 && index < list_->count()) {
        const QSignalBlocker block(list_);
        list_->setCurrentRow(index);
    }
    const TourStop* s = tour_->currentStop();
    note_->setText(s ? QString::fromStdString(s->note) : QString());
    previous_->setEnabled(index > 0);
    next_->setEnabled(index + 1 < tour_->count());
}

} // namespace initscope::ui
